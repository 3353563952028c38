import { runService } from '@sigil/service-kit';
import { loadIdentityServiceConfig } from './config';
import { startIdentityService } from './service';

runService({
  loadConfig: () => loadIdentityServiceConfig(process.env),
  start: startIdentityService,
});
