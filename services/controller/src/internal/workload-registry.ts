import { randomUUID } from 'node:crypto';
import { SigilError, isSigilError } from '@sigil/errors';
import type { controlplaneV1 } from '@sigil/proto';
import { authorizeEntryIssuance, checkAudience, entryFromRequest } from '../domain/entries';
import type { RegistrationEntryRecord } from '../store/store';
import type { AgentPeer } from './agent-peer';
import { csrInvalid } from './context';
import type { ControllerContext } from './context';
import type { JwtAuthority } from './jwt-authority';

/**
 * Registration entries and the workload SVIDs of their parents: what the admin API, the control
 * stream and SignWorkloadSvid / MintJwtSvid share.
 */
export interface WorkloadRegistry {
  create(body: Record<string, unknown>, actor: string): Promise<RegistrationEntryRecord>;
  list(): Promise<RegistrationEntryRecord[]>;
  remove(id: string, actor: string): Promise<RegistrationEntryRecord>;
  /** The entries whose parent is `parentId`, as the control stream carries them. */
  entriesOf(parentId: string): Promise<controlplaneV1.WorkloadEntries>;
  jwtBundle(): controlplaneV1.JwtBundle;
  /** Signs the CSR for one of `peer`'s entries (refused, and audited, for any other). */
  signSvid(
    peer: AgentPeer,
    entryId: string,
    csrPem: string,
  ): Promise<controlplaneV1.SignWorkloadSvidResponse>;
  mintJwtSvid(
    peer: AgentPeer,
    entryId: string,
    audience: readonly string[],
  ): Promise<controlplaneV1.MintJwtSvidResponse>;
  /**
   * Re-reads the entries from the store and calls the {@link WorkloadRegistry.onChanged}
   * listeners for every parent whose entries differ from the last read: how an entry created or
   * deleted on another replica reaches the connectors streaming to this one.
   */
  refresh(): Promise<void>;
  /** Called with the parent whose entries changed (the control plane pushes them). */
  onChanged(listener: (parentId: string) => void): void;
  /** Called when the JWT bundle changed (a JWT authority rotation step): every connector gets it. */
  onJwtBundleChanged(listener: () => void): void;
}

/**
 * Creates the {@link WorkloadRegistry} over the store, the runtime CA and the JWT authority.
 * Every change and every refusal is audited (`entry.created`, `entry.deleted`,
 * `workload_svid.signed`, `workload_svid.refused`, `workload_jwt.minted`).
 *
 * @example
 * ```ts
 * const workloads = createWorkloadRegistry(ctx, await loadOrCreateJwtAuthority(dataDir));
 * ```
 */
export function createWorkloadRegistry(
  ctx: ControllerContext,
  jwt: JwtAuthority,
): WorkloadRegistry {
  const listeners: Array<(parentId: string) => void> = [];
  // What each parent's entries were at the last read (JSON of the sorted records).
  let known: Map<string, string> | undefined;
  let reading: Promise<void> | undefined;
  const read = async (): Promise<void> => {
    const byParent = new Map<string, RegistrationEntryRecord[]>();
    for (const entry of await ctx.store.listEntries())
      byParent.set(entry.parentId, [...(byParent.get(entry.parentId) ?? []), entry]);
    const next = new Map<string, string>();
    for (const [parent, entries] of byParent)
      next.set(parent, JSON.stringify(entries.sort((x, y) => x.id.localeCompare(y.id))));
    const previous = known;
    known = next;
    // The first read only records: connectors get their entries when their stream opens.
    if (previous === undefined) return;
    for (const parent of new Set([...previous.keys(), ...next.keys()]))
      if (previous.get(parent) !== next.get(parent))
        for (const listener of listeners) listener(parent);
  };
  let again = false;
  const refresh = (): Promise<void> => {
    // One read at a time; a change during a read gets one more, so the last change always lands.
    if (reading !== undefined) {
      again = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          again = false;
          await read();
        } while (again);
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };
  // A change made here is pushed at once, by the same diff a change on another replica takes.
  const changed = (): void => {
    void refresh().catch((err: unknown) =>
      ctx.logger.error(
        { event: 'workload.entries_refresh_failed', err },
        'workload.entries_refresh_failed',
      ),
    );
  };
  const find = async (id: string): Promise<RegistrationEntryRecord | undefined> =>
    (await ctx.store.listEntries()).find((e) => e.id === id);
  const entitled = async (
    peer: AgentPeer,
    entryId: string,
    action: string,
  ): Promise<RegistrationEntryRecord> => {
    try {
      return authorizeEntryIssuance(await find(entryId), peer.spiffeId, entryId);
    } catch (err) {
      ctx.metrics.refusals.inc({ reason: 'workload_not_entitled' });
      await ctx.audit.record({
        action,
        outcome: 'refused',
        actor: peer.spiffeId,
        subject: entryId.slice(0, 100),
        details: { reason: 'not_parent' },
      });
      throw err;
    }
  };

  return {
    async create(body, actor) {
      const entry = entryFromRequest(body, ctx.trustDomain, {
        id: randomUUID(),
        now: ctx.clock().getTime(),
      });
      if (!(await ctx.store.createEntry(entry)))
        throw new SigilError(
          'ERR_REQUEST_INVALID',
          `an entry for ${entry.spiffeId} with parent ${entry.parentId} and these selectors already exists`,
          { details: { field: 'spiffe_id' } },
        );
      await ctx.audit.record({
        action: 'entry.created',
        outcome: 'success',
        actor,
        subject: entry.spiffeId,
        details: { id: entry.id, parent_id: entry.parentId, selectors: entry.selectors },
      });
      changed();
      return entry;
    },
    list: () => ctx.store.listEntries(),
    async remove(id, actor) {
      const entry = await ctx.store.deleteEntry(id);
      if (entry === undefined)
        throw new SigilError('ERR_NOT_FOUND', `no registration entry ${id.slice(0, 100)}`, {
          details: { field: 'id' },
        });
      await ctx.audit.record({
        action: 'entry.deleted',
        outcome: 'success',
        actor,
        subject: entry.spiffeId,
        details: { id: entry.id, parent_id: entry.parentId },
      });
      changed();
      return entry;
    },
    async entriesOf(parentId) {
      const entries = (await ctx.store.listEntries()).filter((e) => e.parentId === parentId);
      return {
        entries: entries.map((e) => ({
          id: e.id,
          spiffeId: e.spiffeId,
          selectors: e.selectors,
          x509TtlSeconds: e.x509TtlSeconds,
          jwtTtlSeconds: e.jwtTtlSeconds,
        })),
      };
    },
    jwtBundle: () => ({ trustDomain: ctx.trustDomain, jwksJson: jwt.jwks(), version: jwt.version }),
    onJwtBundleChanged: (listener) => jwt.onChanged(listener),
    async signSvid(peer, entryId, csrPem) {
      const entry = await entitled(peer, entryId, 'workload_svid.refused');
      let issued;
      try {
        issued = await ctx.runtime().ca.signCsr(csrPem, {
          spiffeId: entry.spiffeId,
          ttlSeconds: entry.x509TtlSeconds,
          profile: 'svid',
          now: ctx.clock(),
          backdateSeconds: ctx.certBackdateSeconds,
        });
      } catch (err) {
        if (isSigilError(err)) throw csrInvalid(err);
        throw err;
      }
      // Handed out only once its record is stored.
      await ctx.audit.recordOrFail({
        action: 'workload_svid.signed',
        outcome: 'success',
        actor: peer.spiffeId,
        subject: entry.spiffeId,
        details: {
          entry_id: entry.id,
          serial: issued.serialNumber,
          not_after: issued.notAfter.toISOString(),
        },
      });
      return {
        spiffeId: entry.spiffeId,
        certificateChainPem: issued.chainPem,
        notAfter: issued.notAfter.getTime(),
      };
    },
    async mintJwtSvid(peer, entryId, audience) {
      const entry = await entitled(peer, entryId, 'workload_jwt.refused');
      const aud = checkAudience(audience);
      const now = ctx.clock();
      const token = await jwt.mint(entry.spiffeId, aud, entry.jwtTtlSeconds, now);
      await ctx.audit.recordOrFail({
        action: 'workload_jwt.minted',
        outcome: 'success',
        actor: peer.spiffeId,
        subject: entry.spiffeId,
        details: { entry_id: entry.id, audience: aud },
      });
      return {
        spiffeId: entry.spiffeId,
        token,
        expiresAt: now.getTime() + entry.jwtTtlSeconds * 1000,
      };
    },
    refresh,
    onChanged(listener) {
      listeners.push(listener);
    },
  };
}
