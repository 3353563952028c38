import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminSessionRecord } from '../store/admin-auth-store';

/** An admin user's role: `viewer` reads, `admin` does everything. */
export type AdminRole = 'viewer' | 'admin';

/** Who made an admin request, as every audit record names it. */
export interface AdminPrincipal {
  /** The user name recorded as the audit actor (`admin` for the SIGIL_ADMIN_TOKEN bearer). */
  user: string;
  role: AdminRole;
  /** How the request authenticated. */
  via: 'session' | 'api-token' | 'admin-token';
}

/**
 * Authenticates one admin request: sets `request.principal`, or sends a 401/403 problem reply
 * itself. Routes whose config has `public: true` are not authenticated.
 */
export type AdminAuthenticator = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** The longest user agent kept (sessions, audit records). */
const MAX_USER_AGENT_CHARS = 256;

/**
 * Source address and user agent of a request, as sessions and audit records keep them.
 *
 * @example
 * ```ts
 * const { address, userAgent } = requestOrigin(request);
 * ```
 */
export function requestOrigin(request: FastifyRequest): { address: string; userAgent: string } {
  return {
    address: request.raw.socket.remoteAddress ?? 'unknown',
    userAgent: (request.headers['user-agent'] ?? '').slice(0, MAX_USER_AGENT_CHARS),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: AdminPrincipal;
    /** The console session the request authenticated with (`via: 'session'`). */
    adminSession?: AdminSessionRecord;
  }
  interface FastifyContextConfig {
    /** Skip authentication (sign-in, the OpenAPI description, the console's static files). */
    public?: boolean;
    /** The least role allowed; default `viewer` for GET/HEAD and `admin` for everything else. */
    minimumRole?: AdminRole;
  }
}
