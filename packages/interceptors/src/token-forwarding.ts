import { InterceptingCall } from '@grpc/grpc-js';
import type { Interceptor } from '@grpc/grpc-js';
import { outboundContext } from './internal/call-state';

/**
 * A client interceptor that forwards the bearer token of the request being served: a call made
 * while a handler runs behind {@link createJwtInterceptor} (or inside {@link runWithBearerToken})
 * gets `authorization: Bearer <token>` unless it set its own. The next service verifies the
 * token again, so claims travel as signed data, never as a header a caller could forge. Install
 * it only on channels to services that should receive your users' tokens.
 *
 * @example
 * ```ts
 * const identity = new IdentityServiceClient(address, credentials, {
 *   interceptors: [createTokenForwardingInterceptor()],
 * });
 * // inside a user-service handler: the caller's token reaches identity-service automatically
 * identity.getUser({ id }, (err, user) => callback(err, user));
 * ```
 */
export function createTokenForwardingInterceptor(): Interceptor {
  return (options, nextCall) => {
    // Interceptors run synchronously when the call is made, in the caller's async context.
    const context = outboundContext.getStore();
    if (context === undefined) return new InterceptingCall(nextCall(options));
    return new InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        if (metadata.get('authorization').length === 0)
          metadata.set('authorization', `Bearer ${context.token}`);
        next(metadata, listener);
      },
    });
  };
}

/**
 * Runs `fn` with `token` as the bearer token that {@link createTokenForwardingInterceptor} attaches
 * to calls made inside it: for code that starts a request chain itself (a gateway, a job, a CLI).
 *
 * @example
 * ```ts
 * const user = await runWithBearerToken(sessionToken, () => getUser(client, { id: 'u-1' }));
 * ```
 */
export function runWithBearerToken<T>(token: string, fn: () => T): T {
  return outboundContext.run({ token }, fn);
}
