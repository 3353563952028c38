import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import {
  assertKeyMatchesCertificate,
  createCertificateSigningRequest,
  generateKeyPair,
  tokenFingerprint,
  validateX509Svid,
  type KeyPair,
} from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import { createBackoff, type BackoffOptions } from './backoff';
import { CHECK_THE_CLOCK, CLOCK_SKEW_TOLERANCE_MS, notYetValid } from './internal/clock-skew';
import type { AgentIdentity, AgentKind } from './identity';
import {
  describeServiceError,
  isServiceError,
  nameMismatchOf,
  retryPushbackMs,
  untrustedPeerReason,
} from './internal/grpc-errors';

/**
 * Options of {@link enrollAgent}.
 *
 * @example
 * ```ts
 * const options: EnrollAgentOptions = {
 *   kind: 'tunneler', agentId: 'laptop-7', token, version: '0.1.0', privateIp: '10.0.1.20',
 *   controllerAddresses: ['10.0.0.5:8443'], controllerCaPath, controllerCaPem, connectorAddress: '10.0.0.9:9443', logger,
 * };
 * const identity = await enrollAgent(options);
 * ```
 */
export interface EnrollAgentOptions {
  kind: AgentKind;
  agentId: string;
  /** The one-time token; only its fingerprint is ever logged. */
  token: string;
  /** Tried in order until one answers. */
  controllerAddresses: string[];
  /** The bootstrap CA (CONTROLLER_CA_PATH contents). */
  controllerCaPem: string;
  /** CONTROLLER_CA_PATH, named when the controller does not verify. */
  controllerCaPath: string;
  /** CONTROLLER_SERVER_NAME: the name to verify when it differs from the address host. */
  controllerServerName?: string;
  /** Tunnelers: CONNECTOR_ADDR, remembered in the identity. */
  connectorAddress?: string;
  /** Agent version reported to the controller. */
  version: string;
  privateIp: string;
  /** Per-address deadline. Default 15 s. */
  timeoutMs?: number;
  /**
   * Rounds over all addresses while none is reachable, with full-jitter backoff in between.
   * Default 4. The same key and CSR are sent every time, so a controller that committed an
   * enrollment but died before answering gives the same certificate back instead of a refusal.
   */
  rounds?: number;
  /** Backoff between rounds. Default 500 ms initial, 4 s cap. */
  backoff?: BackoffOptions;
  /**
   * How long to keep retrying while a controller answers UNAVAILABLE with a retry hint (its
   * store is down: the token is unused), with backoff and at least the hinted delay between
   * attempts; such rounds do not count against `rounds`. Default 600 000 (10 minutes). Also how
   * long a certificate that is not valid yet by this host's clock is waited for, before the same
   * request is sent again (the controller returns the same certificate for the same key).
   */
  unavailableForMs?: number;
  logger?: pino.Logger;
  /** Clock. Default `() => new Date()`. */
  now?: () => Date;
}

const KIND: Record<AgentKind, controlplaneV1.AgentKind> = {
  connector: controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR,
  tunneler: controlplaneV1.AgentKind.AGENT_KIND_TUNNELER,
};

/**
 * Enrolls an agent: generates a P-256 key and a CSR, calls EnrollmentService.Enroll over TLS
 * verified against the bootstrap CA (no client certificate yet), and checks the answer: the
 * chain must be a valid X509-SVID of the returned runtime bundle, for this kind and id, and for
 * the key just generated. Failures are one SigilError with the reason:
 * `ERR_ENROLLMENT_REFUSED` (exit 2: the controller's reason, the token by fingerprint only),
 * `ERR_CONTROLLER_UNTRUSTED` / `ERR_CONTROLLER_NAME_MISMATCH` (a certificate of the CA, for
 * other names than the one dialled) / `ERR_CONTROLLER_UNREACHABLE` (exit 3), `ERR_ENROLLMENT_INVALID`.
 * A controller answering UNAVAILABLE with `grpc-retry-pushback-ms` (its store is down) is no
 * refusal: the same request is sent again with backoff for up to `unavailableForMs`.
 *
 * @example
 * ```ts
 * const identity = await enrollAgent({
 *   kind: 'connector', agentId: 'edge-1', token, version: '0.1.0', privateIp: '10.0.0.7',
 *   controllerAddresses: ['10.0.0.5:8443'], controllerCaPath, controllerCaPem: readFileSync(controllerCaPath, 'utf8'),
 * });
 * await store.save(identity);
 * ```
 */
export async function enrollAgent(options: EnrollAgentOptions): Promise<AgentIdentity> {
  const now = options.now ?? (() => new Date());
  const token = tokenFingerprint(options.token);
  const key = await generateKeyPair('ec-p256');
  const request: controlplaneV1.EnrollRequest = {
    token: options.token,
    kind: KIND[options.kind],
    agentId: options.agentId,
    csrPem: await createCertificateSigningRequest(key),
    version: options.version,
    privateIp: options.privateIp,
    sentAt: now().getTime(),
  };
  const rounds = options.rounds ?? 4;
  const backoff = createBackoff({ initialMs: 500, maxMs: 4_000, ...options.backoff });
  const unavailableUntil = Date.now() + (options.unavailableForMs ?? 600_000);
  let failures: string[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    failures = [];
    // The longest retry hint of a controller that answered "unavailable, retry" this round.
    let pushbackMs: number | undefined;
    for (const address of options.controllerAddresses) {
      options.logger?.info(
        {
          event: 'enroll.attempt',
          address,
          round,
          kind: options.kind,
          agentId: options.agentId,
          token,
        },
        'enroll.attempt',
      );
      let response: controlplaneV1.EnrollResponse;
      try {
        response = await callEnroll(address, request, options);
      } catch (err) {
        const mismatch = nameMismatchOf(err);
        if (mismatch !== undefined) {
          throw new SigilError(
            'ERR_CONTROLLER_NAME_MISMATCH',
            `the controller at ${address} has a certificate that verifies against CONTROLLER_CA_PATH ${options.controllerCaPath} but is not for the name "${mismatch.name}" (it holds ${mismatch.names}): set CONTROLLER_SERVER_NAME to one of its DNS names`,
            {
              cause: err,
              details: {
                address,
                name: mismatch.name,
                names: mismatch.names,
                variable: 'CONTROLLER_SERVER_NAME',
              },
            },
          );
        }
        const untrusted = untrustedPeerReason(err);
        if (untrusted !== undefined) {
          throw new SigilError(
            'ERR_CONTROLLER_UNTRUSTED',
            `the controller at ${address} is not trusted: its certificate does not verify against CONTROLLER_CA_PATH ${options.controllerCaPath} (${untrusted})`,
            {
              cause: err,
              details: { address, file: options.controllerCaPath },
            },
          );
        }
        const hint = retryPushbackMs(err);
        if (hint !== undefined) {
          pushbackMs = Math.max(pushbackMs ?? 0, hint);
          failures.push(`${address}: ${describeServiceError(err)}`);
          options.logger?.warn(
            {
              event: 'enroll.controller_unavailable',
              address,
              round,
              retryAfterMs: hint,
              reason: describeServiceError(err),
            },
            'enroll.controller_unavailable',
          );
          continue;
        }
        if (
          isServiceError(err) &&
          (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED)
        ) {
          failures.push(`${address}: ${describeServiceError(err)}`);
          options.logger?.warn(
            { event: 'enroll.unreachable', address, round, reason: describeServiceError(err) },
            'enroll.unreachable',
          );
          continue;
        }
        throw new SigilError(
          'ERR_ENROLLMENT_REFUSED',
          `the controller at ${address} refused enrollment of ${options.kind} ${options.agentId} with token ${token}: ${isServiceError(err) ? err.details : String(err)}`,
          {
            cause: err,
            details: {
              address,
              token,
              grpcCode: isServiceError(err) ? err.code : undefined,
            },
          },
        );
      }
      return await usableIdentity(response, address, request, key, options, now, unavailableUntil);
    }
    // A controller that answered "unavailable, retry" is reached: the round is not used up.
    const answered = pushbackMs !== undefined && Date.now() < unavailableUntil;
    if (answered) round -= 1;
    if (round < rounds)
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(pushbackMs ?? 0, backoff.next())),
      );
  }
  throw new SigilError(
    'ERR_CONTROLLER_UNREACHABLE',
    `no controller reachable for enrollment after ${rounds} rounds: ${failures.join('; ')}`,
    {
      details: { addresses: options.controllerAddresses },
    },
  );
}

/**
 * The identity in `response`; a certificate not valid yet by this host's clock (behind by more
 * than the tolerance) is waited for, up to `until`, and then asked for again with the same
 * request: the controller answers a retry with the same key with the same certificate, so the
 * token is not wasted on a clock that is a few minutes too far behind.
 */
async function usableIdentity(
  first: controlplaneV1.EnrollResponse,
  address: string,
  request: controlplaneV1.EnrollRequest,
  key: KeyPair,
  options: EnrollAgentOptions,
  now: () => Date,
  until: number,
): Promise<AgentIdentity> {
  let response = first;
  for (;;) {
    try {
      return identityFromResponse(response, key, options, now());
    } catch (err) {
      const waitMs = notYetValidForMs(response, now());
      if (!notYetValid(err) || waitMs === undefined || Date.now() + waitMs > until) throw err;
      options.logger?.warn(
        {
          event: 'enroll.certificate_not_yet_valid',
          address,
          waitMs,
          reason: (err as Error).message,
        },
        'enroll.certificate_not_yet_valid',
      );
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      try {
        response = await callEnroll(address, request, options);
      } catch {
        throw err;
      }
    }
  }
}

/** How long until the certificate in `response` is valid by this clock (with the tolerance), plus 1 s. */
function notYetValidForMs(response: controlplaneV1.EnrollResponse, at: Date): number | undefined {
  let notBefore: number;
  try {
    notBefore = new Date(new X509Certificate(response.certificateChainPem).validFrom).getTime();
  } catch {
    return undefined;
  }
  const waitMs = notBefore - CLOCK_SKEW_TOLERANCE_MS - at.getTime() + 1_000;
  return waitMs > 0 ? waitMs : undefined;
}

function callEnroll(
  address: string,
  request: controlplaneV1.EnrollRequest,
  options: EnrollAgentOptions,
): Promise<controlplaneV1.EnrollResponse> {
  const channelOptions: grpc.ChannelOptions =
    options.controllerServerName === undefined
      ? {}
      : { 'grpc.ssl_target_name_override': options.controllerServerName };
  const client = new controlplaneV1.EnrollmentServiceClient(
    address,
    grpc.credentials.createSsl(Buffer.from(options.controllerCaPem)),
    channelOptions,
  );
  const deadline = new Date(Date.now() + (options.timeoutMs ?? 15_000));
  return new Promise<controlplaneV1.EnrollResponse>((resolve, reject) => {
    client.enroll(request, new grpc.Metadata(), { deadline }, (err, response) => {
      client.close();
      if (err) reject(err);
      else resolve(response!);
    });
  });
}

function identityFromResponse(
  response: controlplaneV1.EnrollResponse,
  key: KeyPair,
  options: EnrollAgentOptions,
  obtainedAt: Date,
): AgentIdentity {
  const invalid = (why: string, cause?: unknown): SigilError =>
    new SigilError(
      'ERR_ENROLLMENT_INVALID',
      `the controller's enrollment answer for ${options.kind} ${options.agentId} is unusable: ${why}`,
      { cause },
    );
  const bundle = response.trustBundle;
  if (bundle === undefined || bundle.rootsPem === '') throw invalid('no runtime trust bundle');
  let svid;
  try {
    svid = validateX509Svid(response.certificateChainPem, bundle.rootsPem, {
      trustDomain: bundle.trustDomain,
      at: obtainedAt,
      clockSkewToleranceMs: CLOCK_SKEW_TOLERANCE_MS,
    });
  } catch (cause) {
    throw invalid(`${(cause as Error).message}${notYetValid(cause) ? CHECK_THE_CLOCK : ''}`, cause);
  }
  if (!svid.spiffeId.endsWith(`/${options.kind}/${options.agentId}`))
    throw invalid(`issued to ${svid.spiffeId}, not to ${options.kind} ${options.agentId}`);
  assertKeyMatchesCertificate(key, svid.leaf, {
    keySource: 'the generated key',
    certificateSource: 'EnrollResponse',
  });
  if (options.kind === 'tunneler' && response.connectorId === '')
    throw invalid('no connector_id for the tunneler');
  return {
    kind: options.kind,
    agentId: options.agentId,
    spiffeId: svid.spiffeId,
    trustDomain: svid.trustDomain,
    privateKeyPem: key.privateKeyPem,
    certificateChainPem: response.certificateChainPem,
    bundlePem: bundle.rootsPem,
    bundleVersion: bundle.version,
    controllerCaPem: options.controllerCaPem,
    controllerAddresses: options.controllerAddresses,
    connectorId: options.kind === 'tunneler' ? response.connectorId : undefined,
    connectorAddress: options.connectorAddress,
    notBefore: svid.notBefore,
    notAfter: svid.notAfter,
    obtainedAt,
    enrolledAt: obtainedAt,
    renewals: 0,
  };
}
