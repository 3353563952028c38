import { runService } from '@sigil/service-kit';
import { loadContentServiceConfig } from './config';
import { startContentService } from './service';

runService({ loadConfig: () => loadContentServiceConfig(process.env), start: startContentService });
