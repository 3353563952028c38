// @sigil/identity-service: the phase-1 sample identity service (session tokens), port 50051.
export { loadIdentityServiceConfig, IDENTITY_SERVICE_DEFAULT_POLICY } from './config';
export { startIdentityService } from './service';
export { createIdentityHandlers } from './identity-handlers';
export { createTokenStore } from './token-store';
export { tokenHash } from '@sigil/pki';

export type { IdentityServiceConfig } from './config';
export type { IssuedToken, TokenStore, TokenStoreOptions, TokenValidation } from './token-store';
