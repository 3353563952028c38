import type { IncomingMessage, ServerResponse } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import type { Logger } from 'pino';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import { PROBLEM_CONTENT_TYPE, SigilError, errorInfo, toProblemDetails } from '@sigil/errors';
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
import type { AdminRoute } from '../admin-api';
import { runAsAdminActor } from '../internal/admin-actor';
import { parseRequestTarget } from '../internal/admin-guard';
import { serveConsoleFiles } from './console-files';
import { requestOrigin } from './principal';
import type { AdminAuthenticator, AdminRole } from './principal';
import {
  ADMIN_OPENAPI_OPTIONS,
  ADMIN_ROUTE_SCHEMAS,
  EVENTS_ROUTE_SCHEMA,
  problemSchema,
} from './schemas';

/** At most this many `GET /api/admin/events` streams at once (429 with `Retry-After` beyond). */
export const MAX_EVENT_STREAMS = 64;

/** Options of {@link createAdminServer}. */
export interface AdminServerOptions {
  /**
   * The admin endpoints below `/api/admin` (`createAdminEndpoints` of admin-api.ts), each with its
   * schema in `ADMIN_ROUTE_SCHEMAS`; a wrong method on their paths is a 405 with `Allow`.
   */
  endpoints: readonly AdminRoute[];
  /** Where a controller fault of an endpoint is logged (`http.request_failed`). */
  logger?: Pick<Logger, 'error'>;
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

/**
 * The 400 of a request its route schema refused (the routes fastify validates): the first fault,
 * naming the field (`field`), e.g. `body: unknown field "colour"`.
 */
function schemaRefusal(
  faults: NonNullable<FastifyError['validation']>,
  context = 'body',
): SigilError {
  const fault = faults[0]!;
  const params = fault.params as { additionalProperty?: string; missingProperty?: string };
  const path = fault.instancePath.slice(1).replaceAll('/', '.');
  const field = params.additionalProperty ?? params.missingProperty ?? path;
  const what =
    params.additionalProperty !== undefined
      ? `unknown field "${field}"`
      : params.missingProperty !== undefined
        ? `missing field "${field}"`
        : `${path === '' ? '' : `${path} `}${fault.message ?? 'is invalid'}`;
  return new SigilError('ERR_REQUEST_INVALID', `${context}: ${what}`, {
    ...(field === '' ? {} : { details: { field } }),
  });
}

/** Discards an unread request body so the connection stays usable (or closes cleanly). */
function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

/** A request target that is not valid percent-encoding: 400 naming the segment. */
function badPercentEncoding(path: string): SigilError {
  const segment =
    path.split('/').find((s) => {
      try {
        decodeURIComponent(s);
        return false;
      } catch {
        return true;
      }
    }) ?? path;
  return new SigilError(
    'ERR_REQUEST_INVALID',
    `the path segment "${segment.slice(0, 140)}" is not valid percent-encoding`,
    { details: { field: 'id' } },
  );
}

/**
 * Runs one endpoint and sends its answer as it is (no schema serialization): JSON, or its own
 * content type, `Cache-Control: no-store`. A refusal (a `SigilError` below 500, or a store
 * outage) is a problem body; anything else a controller fault: logged, and a bare 500.
 */
async function serve(
  options: AdminServerOptions,
  endpoint: AdminRoute,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const url = parseRequestTarget(request.url);
  try {
    const answer = await endpoint.handler(
      request.raw,
      url,
      request.params as Record<string, string>,
    );
    const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    return reply
      .code(answer.status)
      .headers({
        'content-type': answer.contentType ?? 'application/json; charset=utf-8',
        'cache-control': 'no-store',
      })
      .send(Buffer.from(text));
  } catch (err) {
    drain(request.raw);
    if (
      err instanceof SigilError &&
      (errorInfo(err.code).httpStatus < 500 || err.code === 'ERR_STORE_UNAVAILABLE')
    )
      return problem(reply, err, url.pathname);
    options.logger?.error(
      { event: 'http.request_failed', method: request.method, url: request.url, err },
      'http.request_failed',
    );
    return reply
      .code(500)
      .headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
      .send(Buffer.from(JSON.stringify({ error: 'internal error' })));
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
 * const app = await createAdminServer({ endpoints: createAdminEndpoints(deps), authenticate });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * ```
 */
export async function createAdminServer(options: AdminServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: ADMIN_MAX_BODY_BYTES,
    // The routes fastify validates (sessions, users, API tokens) refuse an unknown field or a
    // wrongly typed one with 400, as their schemas say, rather than drop or coerce it.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    logger: false,
    forceCloseConnections: true,
    ...(options.serverFactory === undefined ? {} : { serverFactory: options.serverFactory }),
    frameworkErrors: (error, request, reply) => {
      // A path fastify cannot decode (`/api/admin/connectors/%E0%A4%A/renew`): a 400 naming
      // the segment, after the same gate as every endpoint.
      if (error.code !== 'FST_ERR_BAD_URL' || !request.url.startsWith('/api/admin/')) {
        problem(reply, new SigilError('ERR_REQUEST_INVALID', error.message), request.url);
        return;
      }
      const path = request.url.split('?')[0]!;
      admit(options, request, reply)
        .then(() => {
          if (reply.sent) return;
          drain(request.raw);
          problem(reply, badPercentEncoding(path), path);
        })
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
    if (error.validation !== undefined)
      return problem(reply, schemaRefusal(error.validation, error.validationContext), request.url);
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
  await app.register(fastifySwagger, ADMIN_OPENAPI_OPTIONS);
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
      scope.get('/events', { schema: EVENTS_ROUTE_SCHEMA }, async (request, reply) => {
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
      // The endpoints: their own body reading (bounded), problem bodies and statuses.
      scope.register(async (endpoints) => {
        endpoints.removeAllContentTypeParsers();
        endpoints.addContentTypeParser('*', (_request, _payload, done) => done(null));
        // The schemas describe the endpoints for the OpenAPI description; the endpoints check
        // their input themselves (with the error codes, messages and fields they always had).
        endpoints.setValidatorCompiler(() => () => true);
        const methods = new Map<string, string[]>();
        for (const endpoint of options.endpoints) {
          const described = ADMIN_ROUTE_SCHEMAS.find(
            (r) => r.method === endpoint.method && r.url === endpoint.url,
          );
          if (described === undefined)
            throw new Error(
              `${endpoint.method} /api/admin${endpoint.url} has no schema in schemas.ts`,
            );
          endpoints.route({
            ...described,
            exposeHeadRoute: false,
            handler: (request, reply) => serve(options, endpoint, request, reply),
          });
          methods.set(endpoint.url, [...(methods.get(endpoint.url) ?? []), endpoint.method]);
        }
        // Any other method on an endpoint's path: 405 with the allowed ones.
        for (const [url, allowed] of methods) {
          const allow = allowed.join(', ');
          endpoints.route({
            method: endpoints.supportedMethods.filter((m) => !allowed.includes(m)),
            url,
            schema: { hide: true },
            handler: async (request, reply) => {
              drain(request.raw);
              const { pathname } = parseRequestTarget(request.url);
              return problem(
                reply,
                new SigilError(
                  'ERR_METHOD_NOT_ALLOWED',
                  `${request.method} is not allowed on ${pathname} (allowed: ${allow})`,
                  { details: { allow } },
                ),
                pathname,
              );
            },
          });
        }
      });
      scope.setNotFoundHandler(async (request, reply) => {
        drain(request.raw);
        const { pathname } = parseRequestTarget(request.url);
        return problem(
          reply,
          new SigilError('ERR_NOT_FOUND', `no admin endpoint ${pathname}`),
          pathname,
        );
      });
    },
    { prefix: '/api/admin' },
  );
  return app;
}
