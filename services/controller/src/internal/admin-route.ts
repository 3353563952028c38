// The shape of one admin endpoint, shared by admin-api.ts, the route modules and the admin server.
import type { IncomingMessage } from 'node:http';

/** What an admin endpoint answers: a status and a body (JSON unless `contentType` says). */
export interface AdminReply {
  status: number;
  body: unknown;
  contentType?: string;
}
/**
 * One admin endpoint's work: the request (its body unread), its target and the decoded path
 * parameters in, status and body out; a refusal rejects with a `SigilError`.
 */
export type AdminHandler = (
  req: IncomingMessage,
  url: URL,
  params: Readonly<Record<string, string>>,
) => Promise<AdminReply>;
/** An admin endpoint: its method and path below `/api/admin` (`/tokens/:token_id`), its handler. */
export interface AdminRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  handler: AdminHandler;
}
