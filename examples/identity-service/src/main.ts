import { runService } from '@sigil/grpc-service';
import { loadIdentityServiceConfig } from './config';
import { startIdentityService } from './service';

runService({
  loadConfig: () => loadIdentityServiceConfig(process.env),
  start: startIdentityService,
});
