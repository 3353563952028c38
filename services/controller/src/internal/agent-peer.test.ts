import { refusalReason } from './agent-peer';

describe('refusalReason', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const past = now.getTime() - 1000;
  const future = now.getTime() + 60_000;

  it('labels a certificate TLS refused as expired `expired`, not svid_missing', () => {
    expect(
      refusalReason(
        'no-client-certificate',
        { notAfter: past, verifyError: 'CERT_HAS_EXPIRED' },
        now,
      ),
    ).toBe('expired');
  });

  it('labels a verified connection whose certificate expired since the handshake `expired`', () => {
    expect(
      refusalReason('invalid-client-certificate', { notAfter: past, verifyError: undefined }, now),
    ).toBe('expired');
  });

  it('keeps the other labels', () => {
    expect(refusalReason('no-client-certificate', undefined, now)).toBe('svid_missing');
    expect(
      refusalReason(
        'no-client-certificate',
        { notAfter: future, verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
        now,
      ),
    ).toBe('svid_missing');
    expect(
      refusalReason(
        'invalid-client-certificate',
        { notAfter: future, verifyError: undefined },
        now,
      ),
    ).toBe('svid_invalid');
    expect(refusalReason('no-matching-rule', { notAfter: past, verifyError: undefined }, now)).toBe(
      'svid_invalid',
    );
  });
});
