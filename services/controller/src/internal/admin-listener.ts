// The controller's admin listener: the fastify admin server (admin-server/) on one HTTP or HTTPS
// server bounded by applyAdminServerLimits, with the probes of @sigil/runtime's endpoint.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyServerFactory } from 'fastify';
import { SigilError } from '@sigil/errors';
import { createHttpRequestListener, createHttpServer, formatListenAddress } from '@sigil/runtime';
import type {
  HttpEndpoint,
  HttpEndpointOptions,
  HttpEndpointTls,
  HttpServerHandle,
  ListenAddress,
} from '@sigil/runtime';
import { createAdminServer } from '../admin-server/admin-server';
import type { AdminAuthenticator } from '../admin-server/principal';
import { applyAdminServerLimits } from './admin-guard';
import type { AdminLimits } from './admin-guard';

/** Options of {@link startAdminListener}. */
export interface AdminListenerOptions extends Pick<
  HttpEndpointOptions,
  'registry' | 'isReady' | 'readiness' | 'logger'
> {
  listen: ListenAddress;
  /** HTTPS with this certificate (swap it with `updateTls`); plain HTTP without. */
  tls?: HttpEndpointTls;
  limits: AdminLimits;
  authenticate: AdminAuthenticator;
  /** The existing endpoints (admin-api.ts, created with `skipAuthentication: true`). */
  legacy: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Routes with schemas inside `/api/admin`, after authentication. */
  plugins?: FastifyPluginAsync[];
  /** The console's built files served at `/`; default {@link findConsoleDir}'s. */
  consoleDir?: string;
}

/**
 * The built console (`@sigil/console`'s `dist/`), or undefined when it is not installed or not
 * built: the admin server then answers `/` with a line saying so.
 *
 * @example
 * ```ts
 * const consoleDir = findConsoleDir(); // '/opt/sigil/app/node_modules/@sigil/console/dist'
 * ```
 */
function findConsoleDir(): string | undefined {
  let manifest: string;
  try {
    manifest = require.resolve('@sigil/console/package.json');
  } catch {
    return undefined;
  }
  const dist = join(dirname(manifest), 'dist');
  return existsSync(join(dist, 'index.html')) ? dist : undefined;
}

/**
 * Starts the admin listener on `ADMIN_LISTEN_ADDR`: `/healthz`, `/readyz`, `/metrics` without
 * authentication, `/api/admin/*` behind `authenticate`, the OpenAPI description. A bind failure
 * rejects with `ERR_LISTEN_FAILED` naming the address.
 *
 * @example
 * ```ts
 * const http = await startAdminListener({ listen, limits, registry, logger, isReady, authenticate, legacy });
 * ```
 */
export async function startAdminListener(options: AdminListenerOptions): Promise<HttpEndpoint> {
  const { tls, limits } = options;
  let updateTls: HttpServerHandle['updateTls'] | undefined;
  let scheme: HttpServerHandle['scheme'] = 'http';
  const serverFactory: FastifyServerFactory = (handler) => {
    const created = createHttpServer(handler, tls);
    updateTls = created.updateTls;
    scheme = created.scheme;
    applyAdminServerLimits(created.server, limits);
    return created.server;
  };
  // The probes, the 404 outside /api/admin/ and a logged 500 for a fault of the legacy
  // endpoints: the request listener startHttpEndpoint has, not a copy of it.
  const serve = createHttpRequestListener({
    registry: options.registry,
    isReady: options.isReady,
    logger: options.logger,
    handler: options.legacy,
    ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
  });
  const consoleDir = options.consoleDir ?? findConsoleDir();
  const app = await createAdminServer({
    ...(consoleDir === undefined ? {} : { consoleDir }),
    legacy: async (req, res) => {
      await serve(req, res);
      return true;
    },
    authenticate: options.authenticate,
    ...(options.plugins === undefined ? {} : { plugins: options.plugins }),
    fallback: serve,
    serverFactory,
  });
  const address = formatListenAddress(options.listen);
  try {
    await app.listen({ host: options.listen.host, port: options.listen.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new SigilError(
      'ERR_LISTEN_FAILED',
      `cannot listen for HTTP on ${address} (ADMIN_LISTEN_ADDR): ${(err as Error).message}`,
      { cause: err, details: { address, variable: 'ADMIN_LISTEN_ADDR' } },
    );
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `${scheme}://${formatListenAddress({ host: options.listen.host, port })}`;
  options.logger.debug({ event: 'http.listening', url }, 'http.listening');
  return {
    url,
    port,
    updateTls: (material) => updateTls!(material),
    close: () => app.close(),
  };
}
