// @sigil/user-service: the phase-1 sample user directory, port 50052; calls identity-service.
export { loadUserServiceConfig, USER_SERVICE_DEFAULT_POLICY } from './config';
export { startUserService } from './service';
export { createUserHandlers } from './user-handlers';
export { createUserStore } from './user-store';

export type { UserServiceConfig } from './config';
export type { UserHandlersOptions } from './user-handlers';
export type { UserStore } from './user-store';
