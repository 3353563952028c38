import type { CertificateLineage, RevocationRecord } from '../store/store';
import {
  certificateStanding,
  decideAccess,
  lineageAfterRenewal,
  RENEWAL_OVERLAP_MS,
  streamDeadlineDelayMs,
} from './agent-policy';

const T0 = Date.UTC(2030, 0, 1);
const lineage: CertificateLineage = {
  kind: 'connector',
  agentId: 'c1',
  currentSerial: 'b',
  currentNotAfter: T0 + 3_600_000,
  currentPresented: false,
  previousSerial: 'a',
  previousUntil: T0 + RENEWAL_OVERLAP_MS,
  updatedAt: T0,
};
const request = {
  kind: 'connector' as const,
  agentId: 'c1',
  spiffeId: 'spiffe://td/connector/c1',
  revocation: undefined,
  lineage,
  now: T0 + 1000,
};

describe('certificateStanding', () => {
  it('knows the latest, the previous inside the overlap while the latest is unused, and nothing else', () => {
    expect(certificateStanding(lineage, 'b', T0)).toBe('current');
    expect(certificateStanding(lineage, 'a', T0 + 59_999)).toBe('previous');
    expect(certificateStanding(lineage, 'a', T0 + 60_000)).toBe('superseded');
    expect(certificateStanding({ ...lineage, currentPresented: true }, 'a', T0)).toBe('superseded');
    expect(certificateStanding(lineage, 'z', T0)).toBe('superseded');
    expect(certificateStanding(undefined, 'z', T0)).toBe('unknown');
  });

  it('takes a certificate issued after the lineage last changed as restored, never one from before', () => {
    // The store is behind the agent (restored from a backup taken before its renewal).
    expect(certificateStanding(lineage, 'z', T0 + 5000, T0 + 1)).toBe('restored');
    expect(certificateStanding(lineage, 'z', T0 + 5000, T0)).toBe('superseded');
    expect(certificateStanding(lineage, 'z', T0 + 5000, T0 - 60_000)).toBe('superseded');
    // What the lineage names keeps its own standing.
    expect(certificateStanding(lineage, 'b', T0 + 5000, T0 + 1)).toBe('current');
    expect(
      decideAccess({ ...request, serial: 'z', action: 'connect', issuedAfter: T0 + 1 }),
    ).toMatchObject({
      ok: true,
      standing: 'restored',
    });
  });
});

describe('decideAccess', () => {
  it('refuses a revoked agent whatever it presents, with ERR_AGENT_REVOKED', () => {
    const revocation: RevocationRecord = {
      id: 1,
      kind: 'connector',
      agentId: 'c1',
      reason: 'stolen',
      revokedAt: T0,
      actor: 'admin',
      liftedAt: null,
    };
    const decision = decideAccess({ ...request, serial: 'b', action: 'renew', revocation });
    expect(decision).toMatchObject({ ok: false, reason: 'agent_revoked' });
    expect(!decision.ok && decision.error.code).toBe('ERR_AGENT_REVOKED');
  });

  it('lets the previous certificate renew (and call) but never open or re-authenticate a stream', () => {
    for (const action of ['renew', 'call'] as const)
      expect(decideAccess({ ...request, serial: 'a', action })).toEqual({
        ok: true,
        standing: 'previous',
      });
    for (const action of ['connect', 'reauthenticate'] as const)
      expect(decideAccess({ ...request, serial: 'a', action })).toMatchObject({
        ok: false,
        reason: 'certificate_superseded',
      });
    expect(decideAccess({ ...request, serial: 'b', action: 'connect' })).toEqual({
      ok: true,
      standing: 'current',
    });
  });
});

describe('lineageAfterRenewal', () => {
  it('from the latest: the latest becomes the previous, honoured for the overlap', () => {
    expect(
      lineageAfterRenewal(
        lineage,
        'current',
        { kind: 'connector', agentId: 'c1', presentedSerial: 'b' },
        { serial: 'c', notAfter: T0 + 7_200_000 },
        T0 + 5000,
      ),
    ).toMatchObject({
      currentSerial: 'c',
      currentPresented: false,
      previousSerial: 'b',
      previousUntil: T0 + 5000 + RENEWAL_OVERLAP_MS,
    });
  });

  it('from the previous (a retry): the previous and its deadline stay, the unused latest is dropped', () => {
    expect(
      lineageAfterRenewal(
        lineage,
        'previous',
        { kind: 'connector', agentId: 'c1', presentedSerial: 'a' },
        { serial: 'c', notAfter: T0 + 7_200_000 },
        T0 + 5000,
      ),
    ).toMatchObject({
      currentSerial: 'c',
      previousSerial: 'a',
      previousUntil: T0 + RENEWAL_OVERLAP_MS,
    });
  });
});

describe('streamDeadlineDelayMs', () => {
  it('waits until notAfter, never negative, never past what a timer can wait', () => {
    expect(streamDeadlineDelayMs(T0 + 5000, T0)).toBe(5000);
    expect(streamDeadlineDelayMs(T0, T0 + 5000)).toBe(0);
    expect(streamDeadlineDelayMs(T0 + 10 ** 12, T0)).toBe(2 ** 31 - 1);
  });
});
