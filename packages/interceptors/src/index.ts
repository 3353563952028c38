// @sigil/interceptors: grpc-js interceptors for peer identity, authorization, JWT claims, logging and metrics.

// The standard server chain.
export { createServerInterceptors } from './server-interceptors';
export type { ServerInterceptorsOptions } from './server-interceptors';

// Peer identity.
export { createIdentityInterceptor, getPeerIdentity } from './peer-identity';
export type { IdentityInterceptorOptions } from './peer-identity';
export type { PeerIdentity, PeerTrust, AuthContext, AuthContextCall } from './peer-identity-types';

// Authorization.
export {
  AUTHZ_POLICY_ENV,
  loadAuthorizationPolicy,
  authorizationPolicyFromEnv,
  evaluatePolicy,
} from './authorization-policy';
export type {
  AuthorizationPolicy,
  AuthorizationPolicyDocument,
  AuthorizationRule,
  AuthorizationRuleDocument,
  HealthAccess,
  LoadAuthorizationPolicyOptions,
  PolicyDecision,
  PolicyDecisionReason,
  PolicyRequest,
} from './authorization-policy';
export { createAuthorizationInterceptor } from './authorization-interceptor';
export type {
  AuthorizationDenial,
  AuthorizationDenialReason,
  AuthorizationInterceptorOptions,
} from './authorization-interceptor';

// JWT claims and tenant isolation.
export {
  createJwtInterceptor,
  getClaims,
  requireTenant,
  jwtOptionsFromEnv,
} from './jwt-interceptor';
export type { JwtInterceptorOptions, JwksSource, TenantIsolationOptions } from './jwt-interceptor';
export { createTokenForwardingInterceptor, runWithBearerToken } from './token-forwarding';

// Request logging and metrics.
export { createLoggingInterceptor } from './logging-interceptor';
export type { LoggingInterceptorOptions } from './logging-interceptor';
export { createMetricsInterceptor } from './metrics-interceptor';
export type { MetricsInterceptorOptions } from './metrics-interceptor';
