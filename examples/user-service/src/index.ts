// @sigil/user-service: the phase-1 sample user directory, port 50052; calls identity-service.
// Run it with bin/user-service.js; embed it (as its tests do) with these.
export { loadUserServiceConfig } from './config';
export { startUserService } from './service';

export type { UserServiceConfig } from './config';
