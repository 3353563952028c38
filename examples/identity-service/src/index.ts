// @sigil/identity-service: the phase-1 sample identity service (session tokens), port 50051.
// Run it with bin/identity-service.js; embed it (as its tests do) with these.
export { loadIdentityServiceConfig } from './config';
export { startIdentityService } from './service';

export type { IdentityServiceConfig } from './config';
