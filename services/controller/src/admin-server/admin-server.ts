import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import { PROBLEM_CONTENT_TYPE, SigilError, toProblemDetails } from '@sigil/errors';
import Fastify from 'fastify';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  FastifyServerFactory,
} from 'fastify';
import { ADMIN_MAX_BODY_BYTES, problemHeaders } from '../admin-api';
import { runAsAdminActor } from '../internal/admin-actor';
import { serveConsoleFiles } from './console-files';
import { requestOrigin } from './principal';
import type { AdminAuthenticator, AdminRole } from './principal';
import { ADMIN_ROUTE_SCHEMAS, problemSchema } from './schemas';

/** At most this many `GET /api/admin/events` streams at once (429 with `Retry-After` beyond). */
export const MAX_EVENT_STREAMS = 64;

/** Options of {@link createAdminServer}. */
export interface AdminServerOptions {
  /**
   * The existing admin endpoints below `/api/admin/` (the handler of admin-api.ts, created with
   * `skipAuthentication: true`); answers false when no endpoint matched.
   */
  legacy: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** Authenticates `/api/admin/*` requests; required (the controller passes the bearer check). */
  authenticate: AdminAuthenticator;
  /** More routes inside the `/api/admin` scope, after authentication. */
  plugins?: FastifyPluginAsync[];
  /** The console's built files served at `/`. */
  consoleDir?: string;
  /** Subscribes to local changes (topics such as `tokens`); returns the unsubscribe function. */
  onChange?: (listener: (topics: string[]) => void) => () => void;
  /**
   * Answers every request no route matched (outside `/api/admin/`): the controller passes
   * @sigil/runtime's `createHttpRequestListener` (`/healthz`, `/readyz`, `/metrics`, 404 JSON).
   * Default: fastify's 404.
   */
  fallback?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** Creates the HTTP or HTTPS server (with its limits) the app serves on; default plain HTTP. */
  serverFactory?: FastifyServerFactory;
}

/** Sends `err` as an RFC 9457 problem body with its status and headers. */
export function problem(reply: FastifyReply, err: SigilError, instance: string): FastifyReply {
  const details = toProblemDetails(err, { instance });
  return (
    reply
      .code(details.status)
      .headers({
        'content-type': PROBLEM_CONTENT_TYPE,
        'cache-control': 'no-store',
        ...problemHeaders(err),
      })
      // A Buffer: fastify would append `; charset=utf-8` to the content type of a string.
      .send(Buffer.from(JSON.stringify(details)))
  );
}

function requiredRole(request: FastifyRequest): AdminRole {
  const configured = request.routeOptions.config.minimumRole;
  if (configured !== undefined) return configured;
  return request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'admin';
}

/** Hands a request to the existing endpoints (admin-api.ts); 404 when none matched. */
async function toLegacy(
  options: AdminServerOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack();
  if (!(await options.legacy(request.raw, reply.raw))) {
    const err = new SigilError('ERR_NOT_FOUND', `no admin endpoint ${request.url}`);
    reply.raw.writeHead(404, { 'content-type': PROBLEM_CONTENT_TYPE });
    reply.raw.end(JSON.stringify(toProblemDetails(err, { instance: request.url })));
  }
}

/** Runs `work` as the request's principal (its audit records name the user, address and agent). */
function asPrincipal<T>(request: FastifyRequest, work: () => T): T {
  const principal = request.principal;
  if (principal === undefined) return work();
  return runAsAdminActor(
    { user: principal.user, via: principal.via, ...requestOrigin(request) },
    work,
  );
}

/** The `/api/admin` gate: `authenticate`, then the role the route needs (403 below it). */
async function admit(
  options: AdminServerOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  if (request.routeOptions.config.public === true) return;
  await options.authenticate(request, reply);
  if (reply.sent) return;
  const principal = request.principal;
  if (principal === undefined)
    return problem(reply, new SigilError('ERR_ADMIN_UNAUTHORIZED', 'not signed in'), request.url);
  if (requiredRole(request) === 'admin' && principal.role !== 'admin')
    return problem(
      reply,
      new SigilError(
        'ERR_ADMIN_FORBIDDEN',
        `${request.method} ${request.url} needs the admin role; ${principal.user} is a ${principal.role}`,
      ),
      request.url,
    );
}

/**
 * The admin HTTP server on fastify: `/api/admin/*` behind `authenticate` and the role check
 * (403 `ERR_ADMIN_FORBIDDEN`), the OpenAPI description at `/api/admin/openapi.json` (public),
 * `GET /api/admin/events` (server-sent events), the console at `/`, security headers everywhere.
 *
 * @example
 * ```ts
 * const app = await createAdminServer({ legacy, authenticate });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * ```
 */
export async function createAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: ADMIN_MAX_BODY_BYTES,
    logger: false,
    forceCloseConnections: true,
    ...(options.serverFactory === undefined ? {} : { serverFactory: options.serverFactory }),
    frameworkErrors: (error, request, reply) => {
      // A path fastify cannot decode (`/api/admin/connectors/%E0%A4%A/renew`): the legacy
      // endpoints answer it as before (a 400 naming the segment), after the same gate.
      if (error.code !== 'FST_ERR_BAD_URL' || !request.url.startsWith('/api/admin/')) {
        problem(reply, new SigilError('ERR_REQUEST_INVALID', error.message), request.url);
        return;
      }
      admit(options, request, reply)
        .then(() =>
          reply.sent ? undefined : asPrincipal(request, () => toLegacy(options, request, reply)),
        )
        .catch(() => reply.raw.destroy());
    },
  });
  // fastify's own refusals (a body over bodyLimit, bad JSON) as problem bodies too.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof SigilError) return problem(reply, error, request.url);
    const status = error.statusCode ?? 500;
    if (status === 413)
      return problem(
        reply,
        new SigilError(
          'ERR_PAYLOAD_TOO_LARGE',
          `request body exceeds ${ADMIN_MAX_BODY_BYTES} bytes`,
          {
            details: { limitBytes: ADMIN_MAX_BODY_BYTES },
          },
        ),
        request.url,
      );
    if (status >= 400 && status < 500)
      return problem(reply, new SigilError('ERR_REQUEST_INVALID', error.message), request.url);
    return problem(
      reply,
      new SigilError('ERR_INTERNAL', 'internal error', { cause: error }),
      request.url,
    );
  });
  const { fallback } = options;
  if (fallback !== undefined)
    app.setNotFoundHandler(async (request, reply) => {
      reply.hijack();
      await fallback(request.raw, reply.raw);
    });
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // Parses `Cookie` (the console's `sigil_session`) for the authenticator; sets it on sign-in.
  await app.register(fastifyCookie);
  app.addSchema(problemSchema);
  await app.register(fastifySwagger, {
    openapi: { info: { title: 'Sigil admin API', version: '1' } },
  });
  app.get(
    '/api/admin/openapi.json',
    { config: { public: true }, schema: { hide: true } },
    async () => app.swagger(),
  );
  if (options.consoleDir !== undefined) serveConsoleFiles(app, options.consoleDir);
  else
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain').send('The Sigil console is not built (pnpm build).\n'),
    );

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async (request, reply) => admit(options, request, reply));
      // Everything after authentication (the handler included) runs as the principal.
      scope.addHook('preHandler', (request, _reply, done) => asPrincipal(request, () => done()));
      // A change made through this server reaches its event streams at once, named by the
      // changed endpoint's first segment (`tokens`, `connectors`, `ca`, `users`, ...).
      const localChange = new Set<(topics: string[]) => void>();
      scope.addHook('onRequest', async (request, reply) => {
        if (request.method === 'GET' || request.method === 'HEAD') return;
        const topic = /^\/api\/admin\/([a-z-]+)/.exec(request.url)?.[1];
        if (topic === undefined) return;
        reply.raw.once('finish', () => {
          if (reply.raw.statusCode < 400) for (const listener of localChange) listener([topic]);
        });
      });
      for (const plugin of options.plugins ?? []) await scope.register(plugin);
      let streams = 0;
      scope.get('/events', async (request, reply) => {
        if (streams >= MAX_EVENT_STREAMS)
          return problem(
            reply,
            new SigilError('ERR_RATE_LIMITED', `at most ${MAX_EVENT_STREAMS} event streams`, {
              details: { retryAfterSeconds: 5 },
            }),
            request.url,
          );
        streams += 1;
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
        });
        res.write(': connected\n\n');
        const send = (topics: string[]) =>
          res.write(`event: change\ndata: ${JSON.stringify({ topics })}\n\n`);
        const unsubscribe = options.onChange?.(send) ?? (() => undefined);
        localChange.add(send);
        const poll = setInterval(() => send(['connectors', 'tunnelers']), 5000);
        const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
        request.raw.socket.setTimeout(0);
        request.raw.on('close', () => {
          streams -= 1;
          clearInterval(poll);
          clearInterval(ping);
          localChange.delete(send);
          unsubscribe();
        });
      });
      // The existing endpoints: their own body reading (bounded), problem bodies and statuses.
      scope.register(async (legacyScope) => {
        legacyScope.removeAllContentTypeParsers();
        legacyScope.addContentTypeParser('*', (_request, _payload, done) => done(null));
        // The schemas describe the endpoints for the OpenAPI description; the endpoints check
        // their input themselves (with the error codes, messages and fields they always had).
        legacyScope.setValidatorCompiler(() => () => true);
        const handler = (request: FastifyRequest, reply: FastifyReply) =>
          toLegacy(options, request, reply);
        for (const route of ADMIN_ROUTE_SCHEMAS) legacyScope.route({ ...route, handler });
        legacyScope.all('/*', { schema: { hide: true } }, handler);
      });
    },
    { prefix: '/api/admin' },
  );
  return app;
}
