// Pure decisions about an agent's certificates: which one the controller still honours, and for
// what. No I/O: the use cases read the lineage and the revocation from the store and pass them in.
import { SigilError } from '@sigil/errors';
import type { AgentKind, CertificateLineage, RevocationRecord } from '../store/store';

/** How long the certificate a renewal replaced may still renew (a retry after a lost response). */
export const RENEWAL_OVERLAP_MS = 60_000;

/**
 * Where a presented certificate stands in its agent's lineage:
 * `current` — the latest issued; `previous` — the one it replaced, inside the overlap and while
 * the latest was never presented; `superseded` — anything older, or the previous one too late;
 * `unknown` — the agent has no lineage (enrolled before lineages were recorded); `restored` —
 * issued after the lineage's last change, so the store lost that change (restored from a backup).
 */
export type CertificateStanding = 'current' | 'previous' | 'superseded' | 'unknown' | 'restored';

/**
 * The standing of certificate `serial` in `lineage` at `now`. `issuedAfter` (Unix ms): a time the
 * certificate was certainly issued after (its notBefore plus the back-dating); a certificate
 * neither current nor previous issued after the lineage last changed is `restored`: every
 * certificate a lineage change superseded was issued before that change.
 *
 * @example
 * ```ts
 * certificateStanding(lineage, peer.serial, Date.now()); // 'current'
 * ```
 */
export function certificateStanding(
  lineage: CertificateLineage | undefined,
  serial: string,
  now: number,
  issuedAfter?: number,
): CertificateStanding {
  if (lineage === undefined) return 'unknown';
  if (lineage.currentSerial === serial) return 'current';
  if (
    lineage.previousSerial === serial &&
    !lineage.currentPresented &&
    lineage.previousUntil !== null &&
    now < lineage.previousUntil
  )
    return 'previous';
  if (issuedAfter !== undefined && issuedAfter > lineage.updatedAt) return 'restored';
  return 'superseded';
}

/** What an agent asks to do with the certificate it presents. */
export type AgentAction = 'renew' | 'connect' | 'reauthenticate' | 'call';

/** Why {@link decideAccess} refused. */
export type AccessRefusal = 'agent_revoked' | 'certificate_superseded';

/** The verdict of {@link decideAccess}. */
export type AccessDecision =
  | { ok: true; standing: CertificateStanding }
  | { ok: false; reason: AccessRefusal; error: SigilError };

/** What {@link decideAccess} judges. */
export interface AccessRequest {
  kind: AgentKind;
  agentId: string;
  spiffeId: string;
  /** Lower-case hex serial of the presented leaf. */
  serial: string;
  action: AgentAction;
  /** The revocation in force for the agent, if any. */
  revocation: RevocationRecord | undefined;
  lineage: CertificateLineage | undefined;
  /** Unix milliseconds. */
  now: number;
  /** See {@link certificateStanding}. */
  issuedAfter?: number;
}

/**
 * May this agent, presenting this certificate, do `action`? A revoked agent may do nothing
 * (PERMISSION_DENIED `ERR_AGENT_REVOKED`). Only the latest certificate may open a stream or
 * re-authenticate one; renewal (and a plain call such as GetTrustBundle) also accepts the
 * previous certificate inside the overlap (a retried renewal); anything superseded is refused
 * (UNAUTHENTICATED). An agent without a lineage
 * (enrolled before schema 2) is accepted and its certificate adopted as the latest.
 *
 * @example
 * ```ts
 * const decision = decideAccess({ kind, agentId, spiffeId, serial, action: 'renew', revocation, lineage, now });
 * if (!decision.ok) throw decision.error;
 * ```
 */
export function decideAccess(request: AccessRequest): AccessDecision {
  const { revocation, spiffeId } = request;
  if (revocation !== undefined)
    return {
      ok: false,
      reason: 'agent_revoked',
      error: new SigilError(
        'ERR_AGENT_REVOKED',
        `${spiffeId} was revoked at ${new Date(revocation.revokedAt).toISOString()}: ${revocation.reason}`,
        {
          details: {
            spiffeId,
            reason: revocation.reason,
            revokedAt: revocation.revokedAt,
          },
        },
      ),
    };
  const standing = certificateStanding(
    request.lineage,
    request.serial,
    request.now,
    request.issuedAfter,
  );
  const allowed =
    standing === 'current' ||
    standing === 'unknown' ||
    standing === 'restored' ||
    (standing === 'previous' && (request.action === 'renew' || request.action === 'call'));
  if (allowed) return { ok: true, standing };
  return {
    ok: false,
    reason: 'certificate_superseded',
    error: new SigilError(
      'ERR_PEER_UNAUTHENTICATED',
      `certificate ${request.serial} of ${spiffeId} is not the latest the controller issued to it (it was renewed or re-enrolled since): only the latest certificate may ${request.action}`,
      { details: { spiffeId, serial: request.serial, reason: 'certificate_superseded' } },
    ),
  };
}

/**
 * The lineage after certificate `issued` was signed for a renewal from a certificate of
 * `standing`: from the latest, the latest becomes the previous (honoured for `overlapMs`); from
 * the previous (a retry), the previous stays as it was and the unused latest is dropped.
 *
 * @example
 * ```ts
 * const next = lineageAfterRenewal(lineage, 'current', { serial, notAfter }, Date.now());
 * ```
 */
export function lineageAfterRenewal(
  lineage: CertificateLineage | undefined,
  standing: CertificateStanding,
  agent: { kind: AgentKind; agentId: string; presentedSerial: string },
  issued: { serial: string; notAfter: number },
  now: number,
  overlapMs = RENEWAL_OVERLAP_MS,
): CertificateLineage {
  const kept =
    standing === 'previous' && lineage !== undefined
      ? { previousSerial: lineage.previousSerial, previousUntil: lineage.previousUntil }
      : { previousSerial: agent.presentedSerial, previousUntil: now + overlapMs };
  return {
    kind: agent.kind,
    agentId: agent.agentId,
    currentSerial: issued.serial,
    currentNotAfter: issued.notAfter,
    currentPresented: false,
    ...kept,
    updatedAt: now,
  };
}

/**
 * The lineage adopted for an agent enrolled before lineages were recorded, from the first
 * certificate it presents.
 *
 * @example
 * ```ts
 * await store.replaceLineage(adoptedLineage(kind, id, serial, notAfter, now), undefined);
 * ```
 */
export function adoptedLineage(
  kind: AgentKind,
  agentId: string,
  serial: string,
  notAfter: number,
  now: number,
): CertificateLineage {
  return {
    kind,
    agentId,
    currentSerial: serial,
    currentNotAfter: notAfter,
    currentPresented: true,
    previousSerial: null,
    previousUntil: null,
    updatedAt: now,
  };
}

/**
 * When a stream bound to a certificate expiring at `notAfter` must end: `notAfter` itself, in
 * milliseconds from `now` (0 when already past), capped to what a timer can wait.
 *
 * @example
 * ```ts
 * setTimeout(expire, streamDeadlineDelayMs(svid.notAfter.getTime(), Date.now()));
 * ```
 */
export function streamDeadlineDelayMs(notAfter: number, now: number): number {
  return Math.min(Math.max(0, notAfter - now), 2 ** 31 - 1);
}
