import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type pino from 'pino';
import type { Registry } from 'prom-client';
import { SigilError } from '@sigil/errors';
import { formatListenAddress } from './listen-address';

/**
 * Options for {@link startHttpEndpoint}.
 *
 * @example
 * ```ts
 * const options: HttpEndpointOptions = { host: '127.0.0.1', port: 0, registry, logger, isReady: () => true };
 * ```
 */
export interface HttpEndpointOptions {
  /** Interface to bind, e.g. `0.0.0.0` (or `127.0.0.1` in tests). */
  host: string;
  /** Port to bind; 0 picks a free one (read it back from {@link HttpEndpoint.port}). */
  port: number;
  /** The setting the address came from (`METRICS_LISTEN_ADDR`), named in a bind failure. */
  variable?: string;
  /** The prom-client registry served at `/metrics`. */
  registry: Registry;
  /** `/readyz` answers 200 while this returns true, 503 otherwise. */
  isReady: () => boolean;
  /**
   * Fields added to the `/readyz` body (ready or not), saying why: e.g. `{ store: { up: false,
   * reason: '...' } }` or `{ identity: { persisted: false } }`.
   */
  readiness?: () => Record<string, unknown>;
  logger: pino.Logger;
  /**
   * Serves every other request. Return true when it answered; false makes the endpoint answer
   * 404 with a JSON body. A throw or rejection answers 500 and is logged.
   */
  handler?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Called with the server before it listens, to set limits (`maxConnections`, timeouts). */
  configureServer?: (server: Server) => void;
  /**
   * Serve HTTPS with this certificate and key instead of plain HTTP (no client certificate is
   * asked for: callers authenticate requests themselves). Swap it later with
   * {@link HttpEndpoint.updateTls}; handshakes then use the new pair, open connections go on.
   */
  tls?: HttpEndpointTls;
}

/**
 * The certificate an HTTPS {@link startHttpEndpoint} serves.
 *
 * @example
 * ```ts
 * const tls: HttpEndpointTls = { certificateChainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem! };
 * ```
 */
export interface HttpEndpointTls {
  /** The leaf first, then any intermediates, PEM. */
  certificateChainPem: string;
  /** The leaf's private key, PEM. */
  privateKeyPem: string;
  /** How long a TLS handshake may take before the socket is closed. Default 10 s. */
  handshakeTimeoutMs?: number;
}

/**
 * A running health/metrics HTTP endpoint.
 *
 * @example
 * ```ts
 * const endpoint: HttpEndpoint = await startHttpEndpoint(options);
 * await fetch(`${endpoint.url}/readyz`);
 * await endpoint.close();
 * ```
 */
export interface HttpEndpoint {
  /** `http://host:port` (`https://` with {@link HttpEndpointOptions.tls}) with the bound port. */
  url: string;
  /** The bound port (useful with port 0). */
  port: number;
  /**
   * Serves a new certificate and key from the next handshake on (HTTPS only: an endpoint started
   * without `tls` rejects with `ERR_INTERNAL`).
   */
  updateTls(tls: Omit<HttpEndpointTls, 'handshakeTimeoutMs'>): void;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * An HTTP server, or an HTTPS one with `tls`, and the way to swap its certificate.
 *
 * @example
 * ```ts
 * const { server, scheme, updateTls } = createHttpServer(listener, tls);
 * ```
 */
export interface HttpServerHandle {
  /** An `https.Server` with `tls`: to limits and timeouts it is an `http.Server`. */
  server: Server;
  scheme: 'http' | 'https';
  /** Serves a new certificate and key from the next handshake on; throws `ERR_INTERNAL` without `tls`. */
  updateTls(tls: Omit<HttpEndpointTls, 'handshakeTimeoutMs'>): void;
}

/**
 * Creates the server every Sigil HTTP listener runs on: plain HTTP, or HTTPS (TLS 1.2 or newer, a
 * handshake bounded by `handshakeTimeoutMs`, no client certificate asked for) with `tls`.
 *
 * @example
 * ```ts
 * const { server, updateTls } = createHttpServer((req, res) => res.end('ok'), { certificateChainPem, privateKeyPem });
 * server.listen(8443);
 * updateTls(renewed); // new handshakes get the renewed certificate
 * ```
 */
export function createHttpServer(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  tls?: HttpEndpointTls,
): HttpServerHandle {
  if (tls === undefined)
    return {
      server: createServer(listener),
      scheme: 'http',
      updateTls: () => {
        throw new SigilError(
          'ERR_INTERNAL',
          'this HTTP server was started without tls: there is no certificate to update',
        );
      },
    };
  const https = createHttpsServer(
    {
      cert: tls.certificateChainPem,
      key: tls.privateKeyPem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: tls.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    },
    listener,
  );
  return {
    server: https as unknown as Server,
    scheme: 'https',
    updateTls: (material) =>
      https.setSecureContext({
        cert: material.certificateChainPem,
        key: material.privateKeyPem,
        minVersion: 'TLSv1.2',
      }),
  };
}

const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function serveProbe(
  path: string,
  options: Pick<HttpEndpointOptions, 'registry' | 'isReady' | 'readiness'>,
  res: ServerResponse,
): Promise<void> {
  if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (path === '/readyz') {
    const details = options.readiness?.() ?? {};
    return options.isReady()
      ? sendJson(res, 200, { status: 'ready', ...details })
      : sendJson(res, 503, { status: 'not ready', ...details });
  }
  const text = await options.registry.metrics();
  res.writeHead(200, {
    'content-type': options.registry.contentType,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function route(
  options: Pick<HttpEndpointOptions, 'registry' | 'isReady' | 'readiness' | 'handler'>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let path: string;
  try {
    path = new URL(req.url ?? '/', 'http://endpoint').pathname;
  } catch {
    // Node's parser accepts targets such as `http://[bad/` that are no URL: a client error.
    return sendJson(res, 400, {
      error: 'bad request',
      reason: 'the request target is not a valid URL',
    });
  }
  if (PROBE_PATHS.has(path)) {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
    return serveProbe(path, options, res);
  }
  const handled = options.handler === undefined ? false : await options.handler(req, res);
  if (!handled) sendJson(res, 404, { error: 'not found', path });
}

/**
 * The request listener of {@link startHttpEndpoint} without a server of its own, for a server
 * built elsewhere (the controller's fastify admin server): `/healthz`, `/readyz` and `/metrics`
 * (405 with `Allow` on other methods), then `handler`, then a 404 JSON body; a throw of `handler`
 * is logged (`http.request_failed`) and answered 500. The promise settles when the request is
 * answered and never rejects.
 *
 * @example
 * ```ts
 * const serve = createHttpRequestListener({ registry, logger, isReady: () => true });
 * createServer((req, res) => void serve(req, res)).listen(9090);
 * ```
 */
export function createHttpRequestListener(
  options: Pick<HttpEndpointOptions, 'registry' | 'isReady' | 'readiness' | 'logger' | 'handler'>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { logger } = options;
  return (req, res) =>
    route(options, req, res).catch((err: unknown) => {
      logger.error(
        { event: 'http.request_failed', method: req.method, url: req.url, err },
        'http.request_failed',
      );
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
}

/**
 * Starts the HTTP endpoint every Sigil process exposes: `GET /healthz` (200 while the process
 * runs), `GET /readyz` (200 when `isReady()`, else 503) and `GET /metrics` (Prometheus text from
 * `registry`); anything else goes to `handler`, or gets a 404 JSON body. Resolves once listening;
 * a bind failure rejects with `ERR_LISTEN_FAILED` naming the address (and `variable`).
 *
 * @example
 * ```ts
 * const http = await startHttpEndpoint({
 *   host: '0.0.0.0', port: 9090, registry, logger,
 *   isReady: () => grpcServerStarted,
 * });
 * logger.info({ event: 'http.started', url: http.url }, 'http.started');
 * ```
 */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  const { logger } = options;
  const serve = createHttpRequestListener(options);
  const { server, scheme, updateTls } = createHttpServer(
    (req, res) => void serve(req, res),
    options.tls,
  );
  options.configureServer?.(server);
  const address = formatListenAddress({ host: options.host, port: options.port });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(
        new SigilError(
          'ERR_LISTEN_FAILED',
          `cannot listen for HTTP on ${address}${options.variable === undefined ? '' : ` (${options.variable})`}: ${err.message}`,
          { cause: err, details: { address, variable: options.variable } },
        ),
      );
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${scheme}://${formatListenAddress({ host: options.host, port })}`;
  logger.debug({ event: 'http.listening', url }, 'http.listening');
  return {
    url,
    port,
    updateTls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err === undefined ? resolve() : reject(err)));
        server.closeAllConnections();
      }),
  };
}
