import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import { isSigilError, SigilError } from '@sigil/errors';
import { authorizeID, authorizeMemberOf, parseSpiffeId, workloadIdOfCertificate } from '@sigil/pki';
import type { SpiffeIdMatcher } from '@sigil/pki';

const SPIFFE_ID_CACHE_SIZE = 256;
// The check runs on every handshake and a server presents the same certificate to every one of
// them; reading the URI SAN means a full ASN.1 parse (milliseconds under load), so the result is
// kept per certificate, keyed by the SHA-256 fingerprint Node computed already.
const spiffeIds = new Map<string, WorkloadId>();

/** The server's SPIFFE ID under the X509-SVID leaf rules, or why it has none. */
type WorkloadId = { spiffeId: string } | { problem: string };

function workloadIdOfPeer(certificate: PeerCertificate): WorkloadId {
  if (!certificate.raw) return { problem: 'carries no certificate' };
  const key = certificate.fingerprint256;
  let id = spiffeIds.get(key);
  if (id === undefined) {
    try {
      id = { spiffeId: workloadIdOfCertificate(new X509Certificate(certificate.raw)) };
    } catch (err) {
      if (!isSigilError(err, 'ERR_SVID_INVALID')) throw err;
      id = { problem: `is not an X509-SVID leaf (${err.message})` };
    }
    if (spiffeIds.size >= SPIFFE_ID_CACHE_SIZE) spiffeIds.delete(spiffeIds.keys().next().value!);
    spiffeIds.set(key, id);
  }
  return id;
}

/**
 * A matcher for expected SPIFFE IDs: exact IDs, and trust-domain IDs (`spiffe://example.org`)
 * that admit any ID of that trust domain. `spiffeId` must already be a valid SPIFFE ID.
 */
export function expectedSpiffeIdMatcher(expected: readonly string[]): SpiffeIdMatcher {
  const matchers = expected.map((entry) => {
    const id = parseSpiffeId(entry);
    return id.path === '' ? authorizeMemberOf(id.trustDomain) : authorizeID(entry);
  });
  return (spiffeId) => matchers.some((matches) => matches(spiffeId));
}

/**
 * The client's check of the server certificate, run by Node after the chain verified against the
 * CA bundle. With expected SPIFFE IDs the server is authenticated by its URI SAN alone (the
 * X509-SVID way: host names do not matter, so a URI-SAN-only certificate works when dialling an IP).
 * Without, Node's host-name check applies; a certificate with no DNS or IP name fails it with a
 * hint to configure the expected SPIFFE ID instead of Node's opaque altname message.
 */
export function createServerIdentityCheck(
  expected: readonly string[],
  origin: string | undefined,
): (host: string, certificate: PeerCertificate) => Error | undefined {
  const setting = origin ?? 'expectedServerId';
  const matches = expectedSpiffeIdMatcher(expected);
  return (host, certificate) => {
    if (expected.length > 0) {
      const id = workloadIdOfPeer(certificate);
      if ('problem' in id) {
        return mismatch(
          `the server certificate for ${host} ${id.problem}; ${setting} expects ${expected.join(' or ')}`,
          { host, expected },
        );
      }
      const { spiffeId } = id;
      if (!matches(spiffeId)) {
        return mismatch(
          `the server presented ${spiffeId}; ${setting} expects ${expected.join(' or ')}`,
          { host, spiffeId, expected },
        );
      }
      return undefined;
    }
    const names = certificate.subjectaltname ?? '';
    if (!/(^|, )(DNS|IP Address):/.test(names) && /(^|, )URI:spiffe:\/\//.test(names)) {
      return mismatch(
        `the server certificate for ${host} names only a SPIFFE ID (${names.replace(/^URI:/, '')}), no DNS name or IP: set GRPC_SERVER_SPIFFE_ID ` +
          `(or <PREFIX>TLS_SERVER_SPIFFE_ID, option expectedServerId) to the server's SPIFFE ID or trust domain`,
        { host },
      );
    }
    return checkServerIdentity(host, certificate);
  };
}

function mismatch(message: string, details: Record<string, unknown>): SigilError {
  return new SigilError('ERR_TLS_PEER_IDENTITY_MISMATCH', message, { details });
}
