import * as grpc from '@grpc/grpc-js';

/** Node/OpenSSL messages meaning "the peer's certificate did not verify against our roots". */
const UNTRUSTED = [
  'self-signed certificate',
  'self signed certificate',
  'unable to get local issuer certificate',
  'unable to verify the first certificate',
  'unable to get issuer certificate',
  'certificate signature failure',
  'certificate has expired',
  'certificate is not yet valid',
  'does not match certificate',
  "Hostname/IP does not match certificate's altnames",
  'unexpected SPIFFE ID',
];

/** True for a grpc-js error; such errors carry a status code and details. */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number';
}

/** The TLS verification failure hidden in an UNAVAILABLE error's details, if that is what it is. */
export function untrustedPeerReason(err: unknown): string | undefined {
  if (!isServiceError(err) || err.code !== grpc.status.UNAVAILABLE) return undefined;
  const hit = UNTRUSTED.find((text) => err.details.includes(text));
  if (hit === undefined) return undefined;
  const match = /Last error: (?:\w*Error: )?(.*)$/.exec(cleanDetails(err.details));
  return (match?.[1] ?? hit).trim();
}

// Node's checkServerIdentity message, which it raises only once the chain has verified.
const NAME_MISMATCH =
  /Hostname\/IP does not match certificate's altnames: (?:Host: (.+?)\. is not in the cert's altnames|IP: (.+?) is not in the cert's list): (.+)$/;

/**
 * The name check that failed in an UNAVAILABLE error's details, if that is what it is: the
 * certificate verified against the CA, but is not for the name dialled (`name`); `names` are
 * those it holds (`DNS:controller.internal, IP Address:10.0.0.5`).
 */
export function nameMismatchOf(err: unknown): { name: string; names: string } | undefined {
  if (!isServiceError(err) || err.code !== grpc.status.UNAVAILABLE) return undefined;
  const match = NAME_MISMATCH.exec(cleanDetails(err.details));
  if (match === null) return undefined;
  return { name: (match[1] ?? match[2])!, names: match[3]!.trim() };
}

// grpc-js appends an empty "Resolution note:" to connection failures.
function cleanDetails(details: string): string {
  return details.replace(/\.? Resolution note: ?$/, '').trim();
}

/** `UNAVAILABLE: details` — how messages quote a gRPC failure (an error or a call's final status). */
export function describeServiceError(err: unknown): string {
  const status = err as Partial<grpc.StatusObject> | undefined;
  if (typeof status?.code === 'number' && typeof status.details === 'string')
    return `${grpc.status[status.code] ?? status.code}: ${cleanDetails(status.details)}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * The controller's or connector's refusal of a revoked identity: PERMISSION_DENIED (the status of
 * ERR_AGENT_REVOKED) whose details say so. Any other PERMISSION_DENIED (say, a tunneler not yet
 * approved) is an ordinary failure that is retried.
 */
export function isRevocationStatus(err: unknown): boolean {
  const status = err as Partial<grpc.StatusObject> | undefined;
  return (
    status?.code === grpc.status.PERMISSION_DENIED &&
    typeof status.details === 'string' &&
    /ERR_AGENT_REVOKED|\brevoked\b/i.test(status.details)
  );
}

/**
 * The controller's refusal to renew an agent below the pinned minimum version once the grace
 * period is over: FAILED_PRECONDITION (the status of ERR_AGENT_UPGRADE_REQUIRED) whose details
 * name the minimum version.
 */
export function isUpgradeRequiredStatus(err: unknown): boolean {
  const status = err as Partial<grpc.StatusObject> | undefined;
  return (
    status?.code === grpc.status.FAILED_PRECONDITION &&
    typeof status.details === 'string' &&
    /\bbelow the minimum version\b/.test(status.details)
  );
}

/**
 * The controller's `grpc-retry-pushback-ms` (gRFC A6) on an UNAVAILABLE answer: it was reached,
 * accepted nothing and asks to be called again after that many milliseconds (its store is
 * unavailable). Undefined for any other failure, including an unreachable controller.
 */
export function retryPushbackMs(err: unknown): number | undefined {
  if (!isServiceError(err) || err.code !== grpc.status.UNAVAILABLE) return undefined;
  const value = err.metadata?.get('grpc-retry-pushback-ms')[0];
  const ms = Number(typeof value === 'string' ? value : NaN);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The peer could not be reached or dropped the connection (UNAVAILABLE), as opposed to a peer
 * that answered with a refusal: a `ServiceError` or the `status` of a stream.
 */
export function isUnavailableStatus(err: unknown): boolean {
  return (err as Partial<grpc.StatusObject> | undefined)?.code === grpc.status.UNAVAILABLE;
}
