import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import { parseTrustDomain } from '@sigil/pki';
import { spiffeWorkload } from '@sigil/proto';
import type { JSONWebKeySet } from 'jose';
import { derCertificatesToPem, pkcs8DerToPem } from './der';
import { WORKLOAD_API_HEADER } from './workload-api-handlers';

/**
 * A Workload API address parsed from `SPIFFE_ENDPOINT_SOCKET` (`unix:///path`, `unix:/path` or
 * `tcp://IP:port`, as the SPIFFE Workload Endpoint specification writes them).
 *
 * @example
 * ```ts
 * const endpoint: WorkloadApiEndpoint = parseWorkloadApiEndpoint('unix:///run/sigil/workload-api.sock');
 * endpoint.target; // 'unix:///run/sigil/workload-api.sock'
 * ```
 */
export interface WorkloadApiEndpoint {
  /** The gRPC target. */
  readonly target: string;
  /** The unix socket path, for a unix endpoint. */
  readonly socketPath?: string;
  /** The setting it came from, for errors. */
  readonly variable: string;
}

/**
 * Parses a Workload API endpoint address; anything else is `ERR_CONFIG_INVALID` naming `variable`.
 *
 * @example
 * ```ts
 * parseWorkloadApiEndpoint(process.env.SPIFFE_ENDPOINT_SOCKET!, 'SPIFFE_ENDPOINT_SOCKET');
 * ```
 */
export function parseWorkloadApiEndpoint(
  value: string,
  variable = 'SPIFFE_ENDPOINT_SOCKET',
): WorkloadApiEndpoint {
  const bad = (why: string): SigilError =>
    new SigilError(
      'ERR_CONFIG_INVALID',
      `${variable}=${value} is invalid: ${why} (write unix:///path/to/socket or tcp://IP:port)`,
      { details: { variable } },
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('not a URL');
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw bad('no query, fragment or user info allowed');
  if (url.protocol === 'unix:') {
    if (url.host !== '' || url.pathname === '' || url.pathname === '/')
      throw bad('a unix endpoint names an absolute socket path and no host');
    const socketPath = decodeURIComponent(url.pathname);
    return { target: `unix://${socketPath}`, socketPath, variable };
  }
  if (url.protocol === 'tcp:') {
    if (url.port === '' || (url.pathname !== '' && url.pathname !== '/'))
      throw bad('a tcp endpoint is an IP address and a port, no path');
    return { target: url.host, variable };
  }
  throw bad(`scheme ${url.protocol.replace(/:$/, '')} is not unix or tcp`);
}

/**
 * One X509-SVID from the Workload API, in PEM.
 *
 * @example
 * ```ts
 * const [svid]: WorkloadX509Svid[] = (await client.fetchX509Context()).svids;
 * ```
 */
export interface WorkloadX509Svid {
  readonly spiffeId: string;
  /** Leaf first. */
  readonly certificateChainPem: string;
  /** PKCS#8. Never log it. */
  readonly privateKeyPem: string;
  readonly hint: string;
}

/**
 * What FetchX509SVID carries: the caller's SVIDs (the first is the default) and the bundles of
 * its own and federated trust domains, PEM, by trust domain name.
 *
 * @example
 * ```ts
 * const context: X509Context = await client.fetchX509Context();
 * context.bundles.get('example.org'); // PEM roots
 * ```
 */
export interface X509Context {
  readonly svids: readonly WorkloadX509Svid[];
  readonly bundles: ReadonlyMap<string, string>;
}

/**
 * A client of a SPIFFE Workload API (a Sigil agent or SPIRE).
 *
 * @example
 * ```ts
 * const client = createWorkloadApiClient({ endpoint: parseWorkloadApiEndpoint('unix:///run/sigil/workload-api.sock') });
 * const watch = client.watchX509Context({ onUpdate: (ctx) => rotate(ctx), onError: (err) => log(err) });
 * ```
 */
export interface WorkloadApiClient {
  /** The first FetchX509SVID message (then the stream is closed). */
  fetchX509Context(): Promise<X509Context>;
  /** Follows FetchX509SVID: every update, reconnecting with backoff after a failure. */
  watchX509Context(handlers: WatchHandlers<X509Context>): { close(): void };
  /** JWT-SVIDs for `audience` (only `spiffeId`'s when given). */
  fetchJwtSvids(audience: readonly string[], spiffeId?: string): Promise<spiffeWorkload.JWTSVID[]>;
  /** The first FetchJWTBundles message: JWKS by trust domain name. */
  fetchJwtBundles(): Promise<Map<string, JSONWebKeySet>>;
  /** Follows FetchJWTBundles. */
  watchJwtBundles(handlers: WatchHandlers<Map<string, JSONWebKeySet>>): { close(): void };
  /** ValidateJWTSVID. */
  validateJwtSvid(
    svid: string,
    audience: string,
  ): Promise<{ spiffeId: string; claims: Record<string, unknown> }>;
  close(): void;
}

/**
 * Callbacks of a watch.
 *
 * @example
 * ```ts
 * const handlers: WatchHandlers<X509Context> = { onUpdate: (ctx) => apply(ctx), onError: (err) => logger.warn({ err }) };
 * ```
 */
export interface WatchHandlers<T> {
  onUpdate(value: T): void;
  /** A failure (the watch retries after it). */
  onError?(error: SigilError): void;
}

/**
 * Options of {@link createWorkloadApiClient}.
 *
 * @example
 * ```ts
 * const options: WorkloadApiClientOptions = { endpoint, retry: { initialMs: 200, maxMs: 5000 } };
 * ```
 */
export interface WorkloadApiClientOptions {
  endpoint: WorkloadApiEndpoint;
  /** Reconnect delays of the watches. Default 500 ms doubling to 10 s. */
  retry?: { initialMs?: number; maxMs?: number };
  /** Deadline of unary calls and first messages. Default 10 s. */
  timeoutMs?: number;
}

/**
 * A Workload API failure as one SigilError saying what is wrong with the socket: missing,
 * refusing, or no identity for the caller.
 *
 * @example
 * ```ts
 * throw describeWorkloadApiError(err, endpoint);
 * ```
 */
export function describeWorkloadApiError(
  err: grpc.ServiceError,
  endpoint: WorkloadApiEndpoint,
): SigilError {
  const where = `${endpoint.variable}=${endpoint.target}`;
  const details = { variable: endpoint.variable, grpcCode: err.code };
  if (err.code === grpc.status.PERMISSION_DENIED)
    return new SigilError(
      'ERR_WORKLOAD_NOT_ENTITLED',
      `the Workload API at ${where} has no identity for this process (uid ${process.getuid?.()}): ${err.details}`,
      { cause: err, details },
    );
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
    const missing = endpoint.socketPath !== undefined && !existsSync(endpoint.socketPath);
    return new SigilError(
      'ERR_WORKLOAD_API_UNAVAILABLE',
      missing
        ? `the Workload API socket ${endpoint.socketPath} (${endpoint.variable}) does not exist: start the agent that serves it`
        : `the Workload API at ${where} does not answer: ${err.details}`,
      { cause: err, details },
    );
  }
  return new SigilError(
    'ERR_WORKLOAD_API_UNAVAILABLE',
    `the Workload API at ${where} refused the call (${grpc.status[err.code]}): ${err.details}`,
    { cause: err, details },
  );
}

const trustDomainKey = (key: string): string =>
  parseTrustDomain(key.startsWith('spiffe://') ? key.slice('spiffe://'.length) : key);

function x509ContextOf(response: spiffeWorkload.X509SVIDResponse): X509Context {
  const bundles = new Map<string, string>();
  const svids = response.svids.map((svid, index) => {
    const field = `X509SVIDResponse.svids[${index}]`;
    const certificateChainPem = derCertificatesToPem(svid.x509Svid, `${field}.x509_svid`);
    const trustDomain = trustDomainKey(new URL(svid.spiffeId).host);
    bundles.set(trustDomain, derCertificatesToPem(svid.bundle, `${field}.bundle`));
    return {
      spiffeId: svid.spiffeId,
      certificateChainPem,
      privateKeyPem: pkcs8DerToPem(svid.x509SvidKey, `${field}.x509_svid_key`),
      hint: svid.hint,
    };
  });
  for (const [key, der] of Object.entries(response.federatedBundles))
    bundles.set(trustDomainKey(key), derCertificatesToPem(der, `federated_bundles[${key}]`));
  return { svids, bundles };
}

function jwtBundlesOf(response: spiffeWorkload.JWTBundlesResponse): Map<string, JSONWebKeySet> {
  const bundles = new Map<string, JSONWebKeySet>();
  for (const [key, json] of Object.entries(response.bundles))
    bundles.set(
      trustDomainKey(key),
      JSON.parse(Buffer.from(json).toString('utf8')) as JSONWebKeySet,
    );
  return bundles;
}

/**
 * Creates a {@link WorkloadApiClient}: plaintext gRPC to the socket (the Workload API is
 * local and authenticates callers by attestation), the `workload.spiffe.io: true` metadata on
 * every call, failures as {@link describeWorkloadApiError}.
 *
 * @example
 * ```ts
 * const client = createWorkloadApiClient({ endpoint: parseWorkloadApiEndpoint(process.env.SPIFFE_ENDPOINT_SOCKET!) });
 * const { svids } = await client.fetchX509Context();
 * ```
 */
export function createWorkloadApiClient(options: WorkloadApiClientOptions): WorkloadApiClient {
  const { endpoint } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const initialMs = options.retry?.initialMs ?? 500;
  const maxMs = options.retry?.maxMs ?? 10_000;
  const client = new spiffeWorkload.SpiffeWorkloadAPIClient(
    endpoint.target,
    grpc.credentials.createInsecure(),
    { 'grpc.max_receive_message_length': 4 * 1024 * 1024 },
  );
  const metadata = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set(WORKLOAD_API_HEADER, 'true');
    return m;
  };
  const failure = (err: unknown): SigilError =>
    err instanceof SigilError ? err : describeWorkloadApiError(err as grpc.ServiceError, endpoint);
  const deadline = (): Date => new Date(Date.now() + timeoutMs);

  const first = <T, M>(
    open: () => grpc.ClientReadableStream<M>,
    convert: (message: M) => T,
  ): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const call = open();
      const timer = setTimeout(() => {
        call.cancel();
        reject(
          describeWorkloadApiError(
            Object.assign(new Error('no answer in time'), {
              code: grpc.status.DEADLINE_EXCEEDED,
              details: `no answer in ${timeoutMs} ms`,
              metadata: new grpc.Metadata(),
            }),
            endpoint,
          ),
        );
      }, timeoutMs);
      call.once('data', (message: M) => {
        clearTimeout(timer);
        try {
          resolve(convert(message));
        } catch (err) {
          reject(failure(err));
        }
        call.cancel();
      });
      call.on('error', (err: grpc.ServiceError) => {
        clearTimeout(timer);
        if (err.code !== grpc.status.CANCELLED) reject(failure(err));
      });
    });

  const watch = <T, M>(
    open: () => grpc.ClientReadableStream<M>,
    convert: (message: M) => T,
    handlers: WatchHandlers<T>,
  ): { close(): void } => {
    let closed = false;
    let call: grpc.ClientReadableStream<M> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = initialMs;
    const start = (): void => {
      if (closed) return;
      call = open();
      call.on('data', (message: M) => {
        delay = initialMs;
        try {
          handlers.onUpdate(convert(message));
        } catch (err) {
          handlers.onError?.(failure(err));
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (closed) return;
        handlers.onError?.(failure(err));
        timer = setTimeout(start, Math.random() * delay);
        delay = Math.min(delay * 2, maxMs);
      });
      call.on('end', () => {
        if (closed) return;
        timer = setTimeout(start, Math.random() * delay);
      });
    };
    start();
    return {
      close() {
        closed = true;
        clearTimeout(timer);
        call?.cancel();
      },
    };
  };

  return {
    fetchX509Context: () => first(() => client.fetchX509Svid({}, metadata()), x509ContextOf),
    watchX509Context: (handlers) =>
      watch(() => client.fetchX509Svid({}, metadata()), x509ContextOf, handlers),
    fetchJwtBundles: () => first(() => client.fetchJwtBundles({}, metadata()), jwtBundlesOf),
    watchJwtBundles: (handlers) =>
      watch(() => client.fetchJwtBundles({}, metadata()), jwtBundlesOf, handlers),
    fetchJwtSvids: (audience, spiffeId = '') =>
      new Promise((resolve, reject) =>
        client.fetchJwtsvid(
          { audience: [...audience], spiffeId },
          metadata(),
          { deadline: deadline() },
          (err, response) => (err ? reject(failure(err)) : resolve(response!.svids)),
        ),
      ),
    validateJwtSvid: (svid, audience) =>
      new Promise((resolve, reject) =>
        client.validateJwtsvid(
          { svid, audience },
          metadata(),
          { deadline: deadline() },
          (err, response) => {
            if (err === null)
              return resolve({ spiffeId: response!.spiffeId, claims: response!.claims ?? {} });
            // The specification answers a token that does not validate with INVALID_ARGUMENT.
            reject(
              err.code === grpc.status.INVALID_ARGUMENT
                ? new SigilError('ERR_JWT_SVID_INVALID', `ValidateJWTSVID: ${err.details}`, {
                    cause: err,
                    details: { audience },
                  })
                : failure(err),
            );
          },
        ),
      ),
    close: () => client.close(),
  };
}
