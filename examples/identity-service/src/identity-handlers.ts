import * as grpc from '@grpc/grpc-js';
import type pino from 'pino';
import type { identityV1 } from '@sigil/proto';
import { rpcError, unaryHandler } from '@sigil/grpc-service';
import { tokenFingerprint } from '@sigil/pki';
import type { TokenStore } from './token-store';

/**
 * The IdentityService handlers over a token store. ValidateToken answers `valid: false` for an
 * unknown or expired token (the caller decides what that means); IssueToken refuses a bad request
 * with INVALID_ARGUMENT.
 *
 * @example
 * ```ts
 * server.addService(identityV1.IdentityServiceService, createIdentityHandlers({ tokens: createTokenStore(), logger }));
 * ```
 */
export function createIdentityHandlers(options: {
  tokens: TokenStore;
  logger: pino.Logger;
}): identityV1.IdentityServiceServer {
  const { tokens, logger } = options;
  return {
    validateToken: unaryHandler(
      logger,
      async (
        call: grpc.ServerUnaryCall<
          identityV1.ValidateTokenRequest,
          identityV1.ValidateTokenResponse
        >,
      ) => {
        const { token } = call.request;
        if (token === '') throw rpcError(grpc.status.INVALID_ARGUMENT, 'token is required');
        const result = tokens.validate(token);
        if (!result.valid) {
          logger.info(
            { event: 'token.rejected', token: tokenFingerprint(token), reason: result.reason },
            'token.rejected',
          );
          return { valid: false, userId: '', tenantId: '', expiresAt: 0 };
        }
        return {
          valid: true,
          userId: result.userId,
          tenantId: result.tenantId,
          expiresAt: result.expiresAt,
        };
      },
    ),
    issueToken: unaryHandler(
      logger,
      async (
        call: grpc.ServerUnaryCall<identityV1.IssueTokenRequest, identityV1.IssueTokenResponse>,
      ) => {
        const issued = tokens.issue(call.request);
        logger.info(
          {
            event: 'token.issued',
            token: tokenFingerprint(issued.token),
            userId: call.request.userId,
            tenantId: call.request.tenantId,
            expiresAt: issued.expiresAt,
          },
          'token.issued',
        );
        return issued;
      },
    ),
  };
}
