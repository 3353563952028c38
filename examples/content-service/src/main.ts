import { runService } from '@sigil/grpc-service';
import { loadContentServiceConfig } from './config';
import { startContentService } from './service';

runService({ loadConfig: () => loadContentServiceConfig(process.env), start: startContentService });
