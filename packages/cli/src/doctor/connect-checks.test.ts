// The clock-skew rule over gathered facts: the bands of the `date` header measurement, and the
// notBefore lower bound when there is no gRPC answer. Facts hold a real certificate from @sigil/pki.
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '@sigil/pki';
import { clockSkewCheck } from './connect-checks';
import type { ConnectFacts } from './gather-connect';

const NOW = new Date('2026-06-01T12:00:00Z');

async function facts(options: { skewMs?: number; issuedAt?: Date }): Promise<ConnectFacts> {
  const ca = await createCertificateAuthority({
    trustDomain: 'example.org',
    now: new Date('2026-01-01T00:00:00Z'),
  });
  const leaf = await ca.issue({
    spiffeId: 'spiffe://example.org/svc/api',
    now: options.issuedAt ?? NOW,
  });
  return {
    address: '127.0.0.1:8443',
    presentedClientCertificate: true,
    hadCa: true,
    probe: {
      result: {
        protocol: 'TLSv1.3',
        cipher: 'TLS_AES_256_GCM_SHA384',
        presented: [new X509Certificate(leaf.certificatePem)],
        alpnProtocol: 'h2',
      },
    },
    ...(options.skewMs === undefined
      ? {}
      : {
          health: {
            status: 'SERVING',
            serverDate: new Date(NOW.getTime() - options.skewMs),
            localDate: NOW,
          },
        }),
    checkedAt: NOW,
  };
}

describe('clockSkewCheck', () => {
  it.each([
    [0, 'pass', "this host's clock is 0 s ahead of the server's"],
    [61_000, 'pass', "this host's clock is 61 s ahead of the server's"],
    [-90_000, 'warn', "this host's clock is 90 s behind the server's"],
    [300_000, 'warn', "this host's clock is 5 min ahead of the server's"],
    [301_000, 'fail', "this host's clock is 5 min ahead of the server's"],
    [-3_600_000, 'fail', "this host's clock is 60 min behind the server's"],
  ] as const)('a skew of %i ms is %s', async (skewMs, status, message) => {
    const result = clockSkewCheck(await facts({ skewMs }));
    expect(result.status).toBe(status);
    expect(result.message.startsWith(message)).toBe(true);
    expect(result.fix === undefined).toBe(status === 'pass');
  });

  it('without a date header, fails a server certificate valid only from our future', async () => {
    // Issued an hour ahead of us (back-dated 5 minutes): our clock is at least 55 min behind.
    const result = clockSkewCheck(await facts({ issuedAt: new Date(NOW.getTime() + 3_600_000) }));
    expect(result).toEqual(
      expect.objectContaining({
        status: 'fail',
        message: expect.stringContaining(
          "this host's clock is behind its issuer's by at least 55 min",
        ),
      }),
    );
  });

  it('without a date header, passes with the lower bound only', async () => {
    const result = clockSkewCheck(await facts({}));
    expect(result.status).toBe('pass');
    expect(result.message).toContain('lower bound only');
  });
});
