import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { identityV1, userV1 } from '@sigil/proto';
import { rpcError, unaryHandler, type Upstream } from '@sigil/grpc-service';
import type { UserStore } from './user-store';

/**
 * Options for {@link createUserHandlers}.
 *
 * @example
 * ```ts
 * const options: UserHandlersOptions = { users: createUserStore(), identity, logger };
 * ```
 */
export interface UserHandlersOptions {
  users: UserStore;
  /** identity-service, which validates session tokens. */
  identity: Upstream<identityV1.IdentityServiceClient>;
  logger: pino.Logger;
}

/**
 * The UserService handlers. GetUser and ListUsers validate the session token with
 * identity-service on every call and only show users of the session's tenant: GetUser answers
 * NOT_FOUND for another tenant's user (so ids of other tenants cannot be probed), an empty `id`
 * meaning the session's own user; ListUsers lists the session's tenant, and refuses a
 * `tenant_id` naming another one with PERMISSION_DENIED.
 *
 * @example
 * ```ts
 * server.addService(userV1.UserServiceService, createUserHandlers({ users: createUserStore(), identity, logger }));
 * ```
 */
export function createUserHandlers(options: UserHandlersOptions): userV1.UserServiceServer {
  const { users, identity, logger } = options;
  const sessionOf = async (
    call: grpc.ServerUnaryCall<unknown, unknown>,
    sessionToken: string,
  ): Promise<identityV1.ValidateTokenResponse> => {
    if (sessionToken === '')
      throw rpcError(grpc.status.UNAUTHENTICATED, 'session_token is required');
    const session = await identity.call('validateToken', { token: sessionToken }, { parent: call });
    if (!session.valid)
      throw rpcError(grpc.status.UNAUTHENTICATED, 'session token is invalid or expired');
    return session;
  };
  return {
    createUser: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<userV1.CreateUserRequest, userV1.User>) => {
        const user = users.create(call.request);
        logger.info(
          { event: 'user.created', userId: user.id, tenantId: user.tenantId },
          'user.created',
        );
        return user;
      },
    ),
    getUser: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<userV1.GetUserRequest, userV1.User>) => {
        const session = await sessionOf(call, call.request.sessionToken);
        const id = call.request.id === '' ? session.userId : call.request.id;
        const user = users.get(id);
        if (user === undefined || user.tenantId !== session.tenantId)
          throw rpcError(grpc.status.NOT_FOUND, `user ${id} not found`);
        return user;
      },
    ),
    listUsers: unaryHandler(
      logger,
      async (call: grpc.ServerUnaryCall<userV1.ListUsersRequest, userV1.ListUsersResponse>) => {
        const { tenantId } = await sessionOf(call, call.request.sessionToken);
        if (call.request.tenantId !== '' && call.request.tenantId !== tenantId) {
          throw rpcError(
            grpc.status.PERMISSION_DENIED,
            `tenant_id ${call.request.tenantId} is not the session's tenant`,
          );
        }
        const page = users.list(tenantId, call.request);
        return { users: page.items, nextPageToken: page.nextPageToken };
      },
    ),
  };
}
