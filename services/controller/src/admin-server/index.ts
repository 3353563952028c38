export { createAdminServer, MAX_EVENT_STREAMS } from './admin-server';
export { createBearerAuthenticator } from './bearer';
export type { AdminServerOptions } from './admin-server';
export type { AdminAuthenticator, AdminPrincipal, AdminRole } from './principal';
