import { runService } from '@sigil/grpc-service';
import { loadUserServiceConfig } from './config';
import { startUserService } from './service';

runService({ loadConfig: () => loadUserServiceConfig(process.env), start: startUserService });
