import { classifyHandshakeError, isCertificateProblem } from './handshake-errors';
import { expectedSpiffeIdMatcher } from './server-identity';

describe('expectedSpiffeIdMatcher', () => {
  const matches = expectedSpiffeIdMatcher([
    'spiffe://example.org/svc/user-service',
    'spiffe://partner.io',
  ]);

  it('admits exact IDs and any ID of an expected trust domain', () => {
    expect(matches('spiffe://example.org/svc/user-service')).toBe(true);
    expect(matches('spiffe://partner.io/svc/billing')).toBe(true);
  });

  it('refuses look-alikes', () => {
    expect(matches('spiffe://example.org/svc/user-service-2')).toBe(false);
    expect(matches('spiffe://example.org/svc')).toBe(false);
    expect(matches('spiffe://partner.io.evil.com/svc/billing')).toBe(false);
    expect(matches('spiffe://example.org/svc/user-service/admin')).toBe(false);
  });
});

describe('classifyHandshakeError', () => {
  it.each([
    [{ code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE' }, 'no_client_certificate'],
    [{ code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }, 'no_client_certificate'],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'untrusted_certificate'],
    [{ code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' }, 'untrusted_certificate'],
    [{ code: 'CERT_HAS_EXPIRED' }, 'expired_certificate'],
    [{ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'identity_mismatch'],
    [{ code: 'ERR_TLS_PEER_IDENTITY_MISMATCH' }, 'identity_mismatch'],
    [{ code: 'ERR_SSL_UNSUPPORTED_PROTOCOL' }, 'protocol_mismatch'],
    [{ code: 'ECONNRESET', message: 'socket hang up' }, 'connection_closed'],
    [new Error('something else'), 'other'],
  ] as const)('%j is %s', (error, reason) => {
    expect(classifyHandshakeError(error)).toBe(reason);
  });

  it('counts certificate problems as validation failures, not transport ones', () => {
    expect(isCertificateProblem('expired_certificate')).toBe(true);
    expect(isCertificateProblem('connection_closed')).toBe(false);
  });
});
