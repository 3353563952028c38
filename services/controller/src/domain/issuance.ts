// Use cases that sign or honour agent certificates: which CA signs, for how long, and whether
// the certificate an agent presents still counts (lineage, revocation, rate limit).
import { SigilError, isSigilError } from '@sigil/errors';
import type { IssuedCertificate } from '@sigil/pki';
import { csrInvalid, invalidRequest } from '../internal/context';
import type { ControllerContext } from '../internal/context';
import type { AgentPeer } from '../internal/agent-peer';
import type { AgentKind } from '../store/store';
import type { IssuedCertificateRecord } from '../store/trust-store';
import { adoptedLineage, decideAccess, lineageAfterRenewal } from './agent-policy';
import type { AgentAction, CertificateStanding } from './agent-policy';
import { renewalUpgradeRefusal } from './agent-versions';

/** A certificate the runtime CA signed, and the record of which generation signed it. */
export interface SignedAgentCertificate {
  issued: IssuedCertificate;
  /**
   * What GET /api/admin/ca counts and retire waits on: the caller stores it before the
   * certificate is handed out, on its own (recordIssuedCertificate) or with the lineage.
   */
  record: IssuedCertificateRecord;
}

/**
 * Signs `csrPem` as the X509-SVID of `spiffeId`: the runtime CA signs, with the lifetime of the
 * agent's kind and notBefore back-dated by `CERT_BACKDATE` (5 minutes) for agents whose clock is
 * behind. A CSR the CA refuses becomes `ERR_CSR_INVALID`.
 *
 * @example
 * ```ts
 * const { issued, record } = await signAgentCertificate(ctx, 'connector', 'spiffe://example.org/connector/c1', csrPem);
 * await ctx.store.recordIssuedCertificate(record);
 * ```
 */
export async function signAgentCertificate(
  ctx: ControllerContext,
  kind: AgentKind,
  spiffeId: string,
  csrPem: string,
): Promise<SignedAgentCertificate> {
  const runtime = ctx.runtime();
  let issued: IssuedCertificate;
  try {
    issued = await runtime.ca.signCsr(csrPem, {
      spiffeId,
      ttlSeconds: ctx.lifetimes[kind],
      profile: 'svid',
      now: ctx.clock(),
      backdateSeconds: ctx.certBackdateSeconds,
    });
  } catch (err) {
    if (isSigilError(err)) throw csrInvalid(err);
    throw err;
  }
  return {
    issued,
    record: {
      serial: issued.serialNumber,
      kind,
      agentId: spiffeId.slice(spiffeId.lastIndexOf('/') + 1),
      generation: runtime.generation,
      notAfter: issued.notAfter.getTime(),
    },
  };
}

/**
 * A refusal the use cases already counted and audited; the transport only translates it
 * (`toGrpcError(refusal.error)`).
 *
 * @example
 * ```ts
 * if (err instanceof AgentRefusal) return callback(toGrpcError(err.error));
 * ```
 */
export class AgentRefusal extends Error {
  constructor(
    readonly reason: string,
    readonly error: SigilError,
  ) {
    super(error.message, { cause: error });
  }
}

async function refuse(
  ctx: ControllerContext,
  action: string,
  peer: AgentPeer,
  reason: string,
  error: SigilError,
  details: Record<string, unknown> = {},
): Promise<AgentRefusal> {
  ctx.metrics.refusals.inc({ reason });
  await ctx.audit.record({
    action,
    outcome: 'refused',
    actor: peer.spiffeId,
    subject: peer.spiffeId,
    details: { reason, serial: peer.serial, ...details },
  });
  return new AgentRefusal(reason, error);
}

/**
 * Decides whether `peer`, presenting its certificate, may do `action` now (see decideAccess),
 * auditing a refusal as `<auditAction>` and adopting the certificate of an agent enrolled before
 * lineages existed. Throws an {@link AgentRefusal}; returns the certificate's standing.
 *
 * @example
 * ```ts
 * await authorizeAgent(ctx, peer, 'connect', 'controlplane.stream_refused', { peer: call.getPeer() });
 * ```
 */
export async function authorizeAgent(
  ctx: ControllerContext,
  peer: AgentPeer,
  action: AgentAction,
  auditAction: string,
  details: Record<string, unknown> = {},
): Promise<CertificateStanding> {
  const now = ctx.clock().getTime();
  const lineage = await ctx.store.getLineage(peer.kind, peer.id);
  const decision = decideAccess({
    kind: peer.kind,
    agentId: peer.id,
    spiffeId: peer.spiffeId,
    serial: peer.serial,
    action,
    revocation: ctx.revocations.get(peer.kind, peer.id),
    lineage,
    now,
    // notBefore is whole seconds, back-dated: the certificate was issued after this.
    issuedAfter: peer.notBefore.getTime() + ctx.certBackdateSeconds * 1000 - 1000,
  });
  if (!decision.ok)
    throw await refuse(ctx, auditAction, peer, decision.reason, decision.error, details);
  if (decision.standing === 'unknown' || decision.standing === 'restored') {
    // Adopted as the latest: a compare-and-set on what was read, so a renewal meanwhile wins.
    await ctx.store.replaceLineage(
      adoptedLineage(peer.kind, peer.id, peer.serial, peer.notAfter.getTime(), now),
      lineage?.currentSerial,
    );
    if (decision.standing === 'restored')
      await ctx.audit.record({
        action: 'controlplane.lineage_restored',
        outcome: 'success',
        actor: peer.spiffeId,
        subject: peer.spiffeId,
        details: {
          serial: peer.serial,
          replaced_serial: lineage?.currentSerial ?? null,
          ...details,
        },
      });
  } else if (decision.standing === 'current' && lineage?.currentPresented === false)
    await ctx.store.markPresented(peer.kind, peer.id, peer.serial);
  return decision.standing;
}

/**
 * Renews `peer`'s certificate from the one it presents: rate-limited per agent
 * (`ERR_RATE_LIMITED`), only for an enrolled, non-revoked agent, only from its latest
 * certificate (or, inside the overlap, the one that replaced it), with the identity of the
 * presented certificate, never the CSR's. Records the new latest certificate (a compare-and-set:
 * of two racing renewals one wins) with its `renewal.succeeded` record in one transaction, or
 * audits `renewal.refused`. A store outage throws `ERR_STORE_UNAVAILABLE` and issues nothing.
 *
 * @example
 * ```ts
 * const issued = await renewAgentCertificate(ctx, peer, request.csrPem);
 * ```
 */
export async function renewAgentCertificate(
  ctx: ControllerContext,
  peer: AgentPeer,
  csrPem: string,
  details: Record<string, unknown> = {},
): Promise<IssuedCertificate> {
  const limit = ctx.renewalLimiter.take(peer.spiffeId);
  if (!limit.allowed)
    throw await refuse(
      ctx,
      'renewal.refused',
      peer,
      'rate_limited',
      new SigilError(
        'ERR_RATE_LIMITED',
        `too many renewals for ${peer.spiffeId}: retry in ${limit.retryAfterSeconds} s`,
        { details: { retry_after_seconds: limit.retryAfterSeconds } },
      ),
      details,
    );
  if (csrPem.trim() === '')
    throw await refuse(
      ctx,
      'renewal.refused',
      peer,
      'request_invalid',
      invalidRequest('csr_pem', 'csr_pem is required: a PEM PKCS#10 certificate signing request'),
      details,
    );
  const standing = await authorizeAgent(ctx, peer, 'renew', 'renewal.refused', details);
  const outdated = renewalUpgradeRefusal(
    ctx.agentVersions.requirement(peer.kind, ctx.registry.versionOf(peer.kind, peer.id) ?? ''),
    ctx.clock().getTime(),
    peer.spiffeId,
  );
  if (outdated !== undefined)
    throw await refuse(ctx, 'renewal.refused', peer, 'upgrade_required', outdated, details);
  const lineage = await ctx.store.getLineage(peer.kind, peer.id);
  let signed: SignedAgentCertificate;
  try {
    signed = await signAgentCertificate(ctx, peer.kind, peer.spiffeId, csrPem);
  } catch (err) {
    if (isSigilError(err, 'ERR_CSR_INVALID'))
      throw await refuse(ctx, 'renewal.refused', peer, 'csr_invalid', err, details);
    throw err;
  }
  const { issued, record } = signed;
  const now = ctx.clock().getTime();
  const next = lineageAfterRenewal(
    lineage,
    standing,
    { kind: peer.kind, agentId: peer.id, presentedSerial: peer.serial },
    { serial: issued.serialNumber, notAfter: issued.notAfter.getTime() },
    now,
    ctx.renewalOverlapMs,
  );
  // The audit and generation records commit with the lineage: a certificate whose records cannot
  // be written is not handed out (the store's outage answers "unavailable, retry" and the agent
  // keeps its own).
  const audit = ctx.audit.entry({
    action: 'renewal.succeeded',
    outcome: 'success',
    actor: peer.spiffeId,
    subject: peer.spiffeId,
    details: {
      kind: peer.kind,
      serial: issued.serialNumber,
      not_after: issued.notAfter.toISOString(),
      previous_serial: peer.serial,
      previous_not_after: peer.notAfter.toISOString(),
      ...(standing === 'previous' ? { retried_from_previous: true } : {}),
      ...details,
    },
  });
  if (!(await ctx.store.replaceLineage(next, lineage?.currentSerial, audit, record)))
    throw await refuse(
      ctx,
      'renewal.refused',
      peer,
      'certificate_superseded',
      new SigilError(
        'ERR_PEER_UNAUTHENTICATED',
        `another renewal for ${peer.spiffeId} won the race: only the latest certificate may renew`,
        { details: { spiffeId: peer.spiffeId, reason: 'certificate_superseded' } },
      ),
      details,
    );
  ctx.metrics.renewals.inc({ kind: peer.kind });
  ctx.audit.logged(audit);
  return issued;
}
