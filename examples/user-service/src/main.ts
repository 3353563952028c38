import { runService } from '@sigil/service-kit';
import { loadUserServiceConfig } from './config';
import { startUserService } from './service';

runService({ loadConfig: () => loadUserServiceConfig(process.env), start: startUserService });
