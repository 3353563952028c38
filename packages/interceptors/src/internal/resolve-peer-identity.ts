import { X509Certificate } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { parseSpiffeId, subjectAltNamesOf, workloadIdOfCertificate } from '@sigil/pki';
import type { AuthContext, PeerIdentity, PeerTrust } from '../peer-identity-types';
import { BoundedCache } from './bounded-cache';
import { callStateOf, findCallState } from './call-state';
import { certificateProblem } from './peer-trust';

const IDENTITY_CACHE_SIZE = 1024;
// One parse per distinct certificate: keyed by the SHA-256 fingerprint Node already computed
// for getPeerCertificate(), so a hit costs a Map lookup.
const identities = new BoundedCache<string, PeerIdentity>(IDENTITY_CACHE_SIZE);

// Per connection: Node's getPeerCertificate() (behind grpc-js getAuthContext()) builds a large
// object with three fingerprints on every call and costs more than the rest of the interceptor
// chain, while the peer certificate cannot change on a connection (Node's Http2Session disables
// TLS renegotiation). Keyed weakly by the HTTP/2 session, so closed connections drop out.
const bySession = new WeakMap<object, PeerIdentity | null>();
// The certificate behind each identity, for the PeerTrust check.
const certificates = new WeakMap<PeerIdentity, X509Certificate>();

/**
 * Resolves and returns the peer identity: at most once per connection (when the HTTP/2 session
 * can be found) and once per call (when `metadata` is given, which also makes it available to
 * handlers through the call state). With `trust`, a certificate that fails it at this call's
 * time is no identity, and the call state says why (`rejectedCertificate`).
 */
export function resolvePeerIdentity(
  call: { getAuthContext(): AuthContext },
  metadata: Metadata | undefined,
  trust?: PeerTrust,
): PeerIdentity | undefined {
  const state = findCallState(metadata);
  let identity = state?.identity;
  if (identity === undefined) {
    const session = sessionOf(call);
    identity = session === undefined ? undefined : bySession.get(session);
    if (identity === undefined) {
      let context: AuthContext;
      try {
        context = call.getAuthContext();
      } catch {
        // grpc-js throws reading the peer certificate of a socket that has already closed.
        return undefined;
      }
      identity = identityOfCertificate(context.sslPeerCertificate) ?? null;
      if (session !== undefined) bySession.set(session, identity);
    }
  } else if (trust === undefined || state!.trustApplied === true) {
    return identity ?? undefined;
  }
  const problem =
    identity === null || trust === undefined
      ? undefined
      : certificateProblem(certificates.get(identity)!, trust);
  if (problem !== undefined) identity = null;
  if (metadata !== undefined) {
    const resolved = state ?? callStateOf(metadata);
    resolved.identity = identity;
    if (trust !== undefined) resolved.trustApplied = true;
    if (problem !== undefined) resolved.rejectedCertificate = problem;
  }
  return identity ?? undefined;
}

/**
 * The HTTP/2 session under a grpc-js server call. grpc-js has no public accessor, so this walks
 * its call objects (`call` of a handler's call, `nextCall` of an interceptor layer, `stream` of
 * the transport call); if their shape ever changes it finds nothing and identity is simply
 * resolved per call through the public getAuthContext().
 */
function sessionOf(call: object): object | undefined {
  let current = call as
    { call?: unknown; nextCall?: unknown; stream?: { session?: unknown } } | undefined;
  for (let depth = 0; depth < 64 && current !== undefined && current !== null; depth += 1) {
    if (typeof current.stream === 'object' && current.stream !== null) {
      const session = current.stream.session;
      return typeof session === 'object' && session !== null ? session : undefined;
    }
    current = (current.nextCall ?? current.call) as typeof current;
  }
  return undefined;
}

function identityOfCertificate(peer: PeerCertificate | undefined): PeerIdentity | undefined {
  if (peer === undefined || peer.raw === undefined) return undefined;
  const key = peer.fingerprint256;
  const cached = identities.get(key);
  if (cached !== undefined) return cached;
  const certificate = new X509Certificate(peer.raw);
  const { dnsNames, uris } = subjectAltNamesOf(certificate);
  const spiffeId = workloadIdOf(certificate);
  const identity: PeerIdentity = Object.freeze({
    ...(spiffeId === undefined
      ? {}
      : { spiffeId, trustDomain: parseSpiffeId(spiffeId).trustDomain }),
    // Node gives undefined for the empty subject SVIDs usually have.
    subject: (certificate.subject ?? '').split('\n').join(', '),
    dnsNames: Object.freeze([...dnsNames]),
    uris: Object.freeze([...uris]),
    fingerprint: certificate.fingerprint256.toLowerCase(),
    serialNumber: certificate.serialNumber.toLowerCase(),
    notAfter: new Date(certificate.validTo),
    notBefore: new Date(certificate.validFrom),
  });
  identities.set(key, identity);
  certificates.set(identity, certificate);
  return identity;
}

// A certificate that breaks the X509-SVID leaf rules (a CA certificate with a SPIFFE URI SAN, a
// trust-domain ID, keyCertSign) names no workload: the peer then has no SPIFFE ID, and a policy
// refuses it like any caller without one.
function workloadIdOf(certificate: X509Certificate): string | undefined {
  try {
    return workloadIdOfCertificate(certificate);
  } catch {
    return undefined;
  }
}
