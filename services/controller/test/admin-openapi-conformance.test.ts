// Every admin endpoint of a running controller, on its success and its refusals, held to the
// schema the served OpenAPI description (`GET /api/admin/openapi.json`) gives for that status and
// content type; and every operation the description lists is called.
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ADMIN_MAX_BODY_BYTES } from '../src/admin-api';
import { ADMIN_LIMIT_DEFAULTS } from '../src/internal/admin-guard';
import {
  ADMIN_TOKEN,
  admin,
  controlPlaneClient,
  enroll,
  enrollmentClient,
  startController,
  StreamRecorder,
} from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';
import { adminHttp, signIn } from './support/admin-http';

interface Media {
  schema: object;
}
interface Operation {
  /** `[]`: public, no credential. */
  security?: unknown[];
  requestBody?: { required: boolean; content: Record<string, Media> };
  responses: Record<string, { content?: Record<string, Media> }>;
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object>; securitySchemes?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
}

/** A call: `path` is the description's path below /api/admin, `{name}` filled from `params`. */
interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Percent-encoded into the path; `raw` ones go in as they are. */
  params?: Record<string, string>;
  raw?: boolean;
  query?: string;
  body?: unknown;
  rawBody?: string;
  token?: null;
  /** Another credential than the admin token: a bearer (an API token) or a session cookie. */
  bearer?: string;
  session?: string;
  csrf?: string;
}

/** The first admin user's password (`SIGIL_ADMIN_PASSWORD`). */
const ADMIN_PASSWORD = 'conformance-admin-password';

/**
 * What any endpoint may answer, not provoked one by one here (401 is, for every operation), and
 * the status ranges.
 */
const NOT_PROVOKED = new Set(['403', '429', '500', '503', '4XX', '5XX']);

describe('admin API answers conform to the served OpenAPI description', () => {
  let fx: ControllerFixture;
  let doc: OpenApi;
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
  addFormats(ajv);
  const compiled = new Map<string, ValidateFunction>();
  const exercised = new Map<string, Set<string>>();
  const operationKey = (method: string, path: string) => `${method.toUpperCase()} ${path}`;
  const streams: StreamRecorder[] = [];
  const clients: Array<{ close(): void }> = [];

  const validator = (schema: object): ValidateFunction => {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = ajv.compile(schema);
      compiled.set(key, validate);
    }
    return validate;
  };

  const operation = (call: Pick<Call, 'method' | 'path'>): Operation => {
    const found = doc.paths[`/api/admin${call.path}`]?.[call.method.toLowerCase()];
    if (found === undefined)
      throw new Error(`${call.method} /api/admin${call.path} is not in the OpenAPI description`);
    return found;
  };

  /** Calls the endpoint, expects `status`, and holds the answer to the description. */
  async function call(c: Call, status: number): Promise<unknown> {
    const label = `${c.method} /api/admin${c.path}`;
    const op = operation(c);
    const target =
      '/api/admin' +
      c.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
        const value = c.params?.[name];
        if (value === undefined) throw new Error(`${label}: no value for {${name}}`);
        return c.raw === true ? value : encodeURIComponent(value);
      }) +
      (c.query === undefined ? '' : `?${c.query}`);
    const init = { method: c.method, ...(c.body === undefined ? {} : { body: c.body }) };
    const res =
      c.bearer === undefined && c.session === undefined
        ? await admin(fx.controller, target, {
            ...init,
            ...(c.rawBody === undefined ? {} : { rawBody: c.rawBody }),
            ...(c.token === null ? { token: null } : {}),
          }).then((r) => ({ ...r, contentType: r.headers.get('content-type') }))
        : await adminHttp(fx.controller.adminUrl, target, {
            ...init,
            ...(c.bearer === undefined ? {} : { bearer: c.bearer }),
            ...(c.session === undefined ? {} : { session: c.session }),
            ...(c.csrf === undefined ? {} : { csrf: c.csrf }),
          }).then((r) => ({ ...r, contentType: r.headers['content-type'] }));
    if (res.status !== status)
      throw new Error(`${label}: expected ${status}, got ${res.status}: ${res.text.slice(0, 400)}`);
    const documented = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`];
    if (documented === undefined)
      throw new Error(`${label}: status ${status} is not in the OpenAPI description`);
    const type = (res.contentType ?? '').split(';')[0]!.trim();
    let body: unknown;
    if (status === 204) {
      // No content: the description gives none either.
      if (res.text !== '' || documented.content !== undefined)
        throw new Error(`${label}: 204 with a body (${type}) or content in the description`);
    } else {
      const media = documented.content?.[type];
      if (media === undefined)
        throw new Error(`${label}: ${status} with ${type} is not in the OpenAPI description`);
      body = type.endsWith('json') ? JSON.parse(res.text) : res.text;
      const validate = validator(media.schema);
      if (!validate(body))
        throw new Error(
          `${label}: the ${status} body contradicts its schema: ${ajv.errorsText(validate.errors)}\n${res.text.slice(0, 600)}`,
        );
    }
    // What the endpoint accepted, the description accepts too.
    if (status < 300 && c.body !== undefined) {
      const schema = op.requestBody?.content['application/json']?.schema;
      if (schema === undefined) throw new Error(`${label}: takes a body the description omits`);
      const request = validator(schema);
      if (!request(c.body))
        throw new Error(
          `${label}: the accepted body ${JSON.stringify(c.body)} contradicts the request schema: ${ajv.errorsText(request.errors)}`,
        );
    }
    const key = operationKey(c.method, c.path);
    exercised.set(key, (exercised.get(key) ?? new Set()).add(String(status)));
    return body;
  }

  /** Holds a body the endpoint refused by its shape to the request schema: it must refuse it too. */
  function refusedByRequestSchema(c: Pick<Call, 'method' | 'path'>, body: unknown): void {
    const schema = operation(c).requestBody?.content['application/json']?.schema;
    if (schema === undefined || validator(schema)(body))
      throw new Error(
        `${c.method} /api/admin${c.path}: the request schema accepts ${JSON.stringify(body)}, which the endpoint refuses`,
      );
  }

  const tooLarge = JSON.stringify({ pad: 'x'.repeat(ADMIN_MAX_BODY_BYTES) });
  const each = (fn: (method: Call['method'], path: string, op: Operation) => void) => {
    for (const [path, operations] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(operations))
        fn(method.toUpperCase() as Call['method'], path.replace(/^\/api\/admin/, ''), op);
  };
  const anyParams = (path: string) =>
    Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name!, 'x']));

  beforeAll(async () => {
    fx = await startController({
      // Activation waits for no acknowledgement; 401s for every endpoint stay below the throttle.
      caActivationGraceSeconds: 0,
      adminPassword: ADMIN_PASSWORD,
      adminLimits: { ...ADMIN_LIMIT_DEFAULTS, authFailuresPerMinute: 1000 },
    });
    const res = await admin(fx.controller, '/api/admin/openapi.json', { token: null });
    expect(res.status).toBe(200);
    doc = res.json as OpenApi;
    // The description's own references, as a schema ajv resolves.
    ajv.addSchema({
      $id: 'components',
      $defs: JSON.parse(
        JSON.stringify(doc.components.schemas).replaceAll(
          '"#/components/schemas/',
          '"components#/$defs/',
        ),
      ) as object,
    });
    doc = JSON.parse(
      JSON.stringify(doc).replaceAll('"#/components/schemas/', '"components#/$defs/'),
    ) as OpenApi;
  });
  afterAll(async () => {
    for (const s of streams) s.call.cancel();
    for (const c of clients) c.close();
    await fx.cleanup();
  });

  it('describes every response object completely: each declares whether other fields may appear', () => {
    const open: string[] = [];
    const walk = (schema: unknown, where: string): void => {
      if (schema === null || typeof schema !== 'object') return;
      const s = schema as Record<string, unknown>;
      if (s.properties !== undefined && s.additionalProperties === undefined) open.push(where);
      for (const [key, value] of Object.entries(s)) walk(value, `${where}/${key}`);
    };
    each((method, path, op) => walk(op.responses, `${method} ${path}`));
    walk(doc.components.schemas, 'components');
    expect(open).toEqual([]);
  });

  it('enrollment tokens: create, list, cancel', async () => {
    await call(
      { method: 'POST', path: '/tokens', body: { kind: 'connector', id: 'conf-c1' } },
      201,
    );
    await call(
      {
        method: 'POST',
        path: '/tokens',
        body: {
          kind: 'tunneler',
          id: 'conf-t1',
          connector_id: 'conf-c1',
          ttl_seconds: 600,
          labels: ['team=db'],
        },
      },
      201,
    );
    const bad = { kind: 'robot', id: 'conf-x' };
    await call({ method: 'POST', path: '/tokens', body: bad }, 400);
    refusedByRequestSchema({ method: 'POST', path: '/tokens' }, bad);
    await call(
      { method: 'POST', path: '/tokens', body: { kind: 'connector', id: 'x', colour: 1 } },
      400,
    );
    refusedByRequestSchema(
      { method: 'POST', path: '/tokens' },
      { kind: 'connector', id: 'x', colour: 1 },
    );
    await call(
      { method: 'POST', path: '/tokens', body: { kind: 'connector', id: 'conf-c9' } },
      201,
    );
    const pending = (await call({ method: 'GET', path: '/tokens' }, 200)) as Array<{
      token_id: string;
      id: string;
    }>;
    expect(pending.map((t) => t.id).sort()).toEqual(['conf-c1', 'conf-c9', 'conf-t1']);
    const tokenId = pending.find((t) => t.id === 'conf-c9')!.token_id;
    const cancel = { method: 'DELETE', path: '/tokens/{token_id}' } as const;
    await call({ ...cancel, params: { token_id: tokenId } }, 200);
    await call({ ...cancel, params: { token_id: tokenId } }, 404);
    await call({ ...cancel, params: { token_id: 'NOT-HEX' } }, 400);
  });

  it('agents: enroll, list, renew', async () => {
    const tokens = new Map<string, string>();
    for (const [kind, id, connectorId] of [
      ['connector', 'conf-c1'],
      ['connector', 'conf-c2'],
      ['tunneler', 'conf-t1', 'conf-c1'],
    ] as const) {
      const created = (await call(
        {
          method: 'POST',
          path: '/tokens',
          body: { kind, id, ...(connectorId === undefined ? {} : { connector_id: connectorId }) },
        },
        201,
      )) as { token: string };
      tokens.set(id, created.token);
    }
    const enrollment = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
    clients.push(enrollment);
    const c1 = await enroll(enrollment, {
      token: tokens.get('conf-c1')!,
      kind: 'connector',
      agentId: 'conf-c1',
      sentAt: Date.now(),
    });
    await enroll(enrollment, {
      token: tokens.get('conf-c2')!,
      kind: 'connector',
      agentId: 'conf-c2',
    });
    await enroll(enrollment, {
      token: tokens.get('conf-t1')!,
      kind: 'tunneler',
      agentId: 'conf-t1',
    });
    const client = controlPlaneClient(
      fx.controller.grpcAddress,
      fx.controller.bootstrapCaPem,
      c1.identity,
    );
    clients.push(client);
    const stream = new StreamRecorder(client.connect());
    streams.push(stream);
    await stream.next('approvedTunnelers');

    const connectors = (await call({ method: 'GET', path: '/connectors' }, 200)) as unknown[];
    expect(connectors).toHaveLength(2);
    const tunnelers = (await call({ method: 'GET', path: '/tunnelers' }, 200)) as unknown[];
    expect(tunnelers).toHaveLength(1);

    const renew = { method: 'POST', path: '/connectors/{id}/renew' } as const;
    await call({ ...renew, params: { id: 'conf-c1' } }, 202);
    await stream.next('renewNow');
    await call({ ...renew, params: { id: 'conf-c2' } }, 409);
    await call({ ...renew, params: { id: 'ghost' } }, 404);
    await call({ ...renew, params: { id: '%E0%A4%A' }, raw: true }, 400);
  });

  it('agent versions', async () => {
    await call({ method: 'GET', path: '/agent-versions' }, 200);
    const put = { method: 'PUT', path: '/agent-versions' } as const;
    await call({ ...put, body: { connector_min: '1.0.0', tunneler_min: null } }, 200);
    await call({ ...put, body: { tunneler_min: 'latest' } }, 400);
    await call({ ...put, body: { colour: 'red' } }, 400);
    refusedByRequestSchema(put, { colour: 'red' });
  });

  it('resources and grants', async () => {
    const resources = { method: 'POST', path: '/resources' } as const;
    const pg = { name: 'pg-main', address: '10.0.0.5:5432', connector_id: 'conf-c1' };
    await call({ ...resources, body: pg }, 201);
    await call(
      { ...resources, body: { ...pg, name: 'web', address: '10.0.0.0/24:8000-8099' } },
      201,
    );
    await call({ ...resources, body: pg }, 409);
    await call({ ...resources, body: { ...pg, name: 'bad name!' } }, 400);
    refusedByRequestSchema(resources, { ...pg, name: 'bad name!' });
    await call({ method: 'GET', path: '/resources' }, 200);

    const grants = { method: 'POST', path: '/grants' } as const;
    const byLabel = (await call(
      { ...grants, body: { resource: 'pg-main', label: 'team=db' } },
      201,
    )) as { id: string };
    await call({ ...grants, body: { resource: 'pg-main', tunneler_id: 'conf-t1' } }, 201);
    await call({ ...grants, body: { resource: 'ghost', label: 'team=db' } }, 404);
    await call({ ...grants, body: { resource: 'pg-main' } }, 400);
    refusedByRequestSchema(grants, { resource: 'pg-main' });
    refusedByRequestSchema(grants, { resource: 'pg-main', label: 'a', tunneler_id: 'b' });
    expect(await call({ method: 'GET', path: '/grants' }, 200)).toHaveLength(2);
    const deleteGrant = { method: 'DELETE', path: '/grants/{id}' } as const;
    await call({ ...deleteGrant, params: { id: byLabel.id } }, 200);
    await call({ ...deleteGrant, params: { id: byLabel.id } }, 404);
    await call({ ...deleteGrant, params: { id: 'not-a-uuid' } }, 400);

    const deleteResource = { method: 'DELETE', path: '/resources/{name}' } as const;
    await call({ ...deleteResource, params: { name: 'web' } }, 200);
    await call({ ...deleteResource, params: { name: 'web' } }, 404);
    await call({ ...deleteResource, params: { name: 'bad name!' } }, 400);
  });

  it('registration entries', async () => {
    const post = { method: 'POST', path: '/entries' } as const;
    const web = {
      spiffe_id: 'spiffe://test.sigil/app/web',
      parent_id: 'spiffe://test.sigil/connector/conf-c1',
      selectors: ['unix:uid:1000'],
    };
    // Kept: its jwt_ttl_seconds holds the JWT authority's retire below.
    await call({ ...post, body: { ...web, jwt_ttl_seconds: 600 } }, 201);
    const db = (await call(
      { ...post, body: { ...web, spiffe_id: 'spiffe://test.sigil/app/db', x509_ttl_seconds: 60 } },
      201,
    )) as { id: string };
    await call({ ...post, body: web }, 400);
    await call({ ...post, body: { ...web, selectors: [] } }, 400);
    refusedByRequestSchema(post, { ...web, selectors: [] });
    expect(await call({ method: 'GET', path: '/entries' }, 200)).toHaveLength(2);
    const remove = { method: 'DELETE', path: '/entries/{id}' } as const;
    await call({ ...remove, params: { id: db.id } }, 200);
    await call({ ...remove, params: { id: db.id } }, 404);
  });

  it('the JWT authority rotation', async () => {
    const step = (name: string) => ({ method: 'POST', path: `/jwt-authority/${name}` }) as const;
    await call({ method: 'GET', path: '/jwt-authority' }, 200);
    await call(step('activate'), 409);
    await call(step('prepare'), 200);
    await call(step('prepare'), 409);
    await call(step('activate'), 200);
    await call({ method: 'GET', path: '/jwt-authority' }, 200);
    await call(step('retire'), 409);
    await call({ ...step('retire'), body: { force: 'yes' } }, 400);
    refusedByRequestSchema(step('retire'), { force: 'yes' });
    await call({ ...step('retire'), body: { force: true } }, 200);
  });

  it('the runtime CA rotation', async () => {
    const step = (name: string) => ({ method: 'POST', path: `/ca/${name}` }) as const;
    await call({ method: 'GET', path: '/ca' }, 200);
    await call(step('activate'), 409);
    await call(step('retire'), 409);
    await call({ ...step('prepare'), body: { ttl_seconds: 10 } }, 400);
    refusedByRequestSchema(step('prepare'), { ttl_seconds: 10 });
    await call(step('prepare'), 200);
    await call({ ...step('prepare'), body: {} }, 409);
    await call({ method: 'GET', path: '/ca' }, 200);
    await call({ ...step('activate'), body: { now: true } }, 400);
    await call({ ...step('activate'), body: {} }, 200);
    await call({ method: 'GET', path: '/ca' }, 200);
    // The enrolled agents' certificates chain to the previous generation.
    await call(step('retire'), 409);
    await call({ ...step('retire'), body: { wait_seconds: 601 } }, 400);
    refusedByRequestSchema(step('retire'), { wait_seconds: 601 });
    await call({ ...step('retire'), body: { force: true, wait_seconds: 0 } }, 200);
  });

  it('revocations', async () => {
    for (const [kind, id] of [
      ['connectors', 'conf-c2'],
      ['tunnelers', 'conf-t1'],
    ] as const) {
      const revoke = { method: 'POST', path: `/${kind}/{id}/revoke` } as const;
      await call({ ...revoke, params: { id }, body: { reason: 'conformance' } }, 201);
      await call({ ...revoke, params: { id }, body: { reason: 'again' } }, 200);
      await call({ ...revoke, params: { id: 'ghost' }, body: { reason: 'x' } }, 404);
      await call({ ...revoke, params: { id }, body: { reason: '' } }, 400);
      refusedByRequestSchema(revoke, { reason: '' });
    }
    await call({ method: 'GET', path: '/revocations' }, 200);
    await call({ method: 'GET', path: '/revocations', query: 'limit=0' }, 400);
  });

  it('audit, summary, the bootstrap CA', async () => {
    const records = (await call({ method: 'GET', path: '/audit' }, 200)) as unknown[];
    expect(records.length).toBeGreaterThan(10);
    await call(
      { method: 'GET', path: '/audit', query: 'limit=5&before=1000&action=admin.agent_revoked' },
      200,
    );
    await call({ method: 'GET', path: '/audit', query: 'action=Not-An-Action' }, 400);
    await call({ method: 'GET', path: '/audit', query: 'before=0' }, 400);
    const summary = (await call({ method: 'GET', path: '/summary' }, 200)) as {
      connectors: { total: number };
    };
    // conf-c1; revoked conf-c2 is no longer counted.
    expect(summary.connectors.total).toBe(1);
    expect(await call({ method: 'GET', path: '/bootstrap-ca' }, 200)).toBe(
      fx.controller.bootstrapCaPem,
    );
  });

  it('the event stream', async () => {
    const abort = new AbortController();
    const res = await fetch(`${fx.controller.adminUrl}/api/admin/events`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: abort.signal,
    });
    const first = await res.body!.getReader().read();
    abort.abort();
    expect(res.status).toBe(200);
    const op = operation({ method: 'GET', path: '/events' });
    const type = res.headers.get('content-type')!.split(';')[0]!;
    const media = op.responses['200']!.content![type];
    expect(media).toBeDefined();
    expect(validator(media!.schema)(new TextDecoder().decode(first.value))).toBe(true);
    exercised.set(operationKey('GET', '/events'), new Set(['200']));
  });

  it('console sessions: sign in, who am I, CSRF, sign out', async () => {
    const password = ADMIN_PASSWORD;
    const session = { method: 'POST', path: '/session' } as const;
    expect(
      await call({ ...session, token: null, body: { username: 'admin', password } }, 200),
    ).toEqual(expect.objectContaining({ user: 'admin', role: 'admin' }));
    await call(
      { ...session, token: null, body: { username: 'admin', password: `${password}x` } },
      401,
    );
    await call({ ...session, token: null, body: { username: 'ghost', password } }, 401);
    await call({ ...session, token: null, body: { username: 'admin' } }, 400);
    refusedByRequestSchema(session, { username: 'admin' });
    await call({ ...session, token: null, body: { username: 'admin', password, colour: 1 } }, 400);
    refusedByRequestSchema(session, { username: 'admin', password, colour: 1 });

    const whoami = { method: 'GET', path: '/session' } as const;
    expect(await call(whoami, 200)).toEqual({ user: 'admin', role: 'admin', via: 'admin-token' });
    const signedIn = await signIn(fx.controller.adminUrl, 'admin', password);
    expect(await call({ ...whoami, session: signedIn.session }, 200)).toEqual(
      expect.objectContaining({ via: 'session', csrf_token: signedIn.csrf }),
    );
    const signOut = { method: 'DELETE', path: '/session' } as const;
    expect(await call({ ...signOut, session: signedIn.session }, 403)).toEqual(
      expect.objectContaining({ code: 'ERR_ADMIN_CSRF' }),
    );
    await call({ ...signOut, session: signedIn.session, csrf: signedIn.csrf }, 204);
    await call({ ...whoami, session: signedIn.session }, 401);
    await call(signOut, 204);
  });

  it('console users', async () => {
    const post = { method: 'POST', path: '/users' } as const;
    const viewer = (await call(
      { ...post, body: { name: 'conf-viewer', role: 'viewer' } },
      201,
    )) as {
      password: string;
    };
    expect(viewer.password).toEqual(expect.any(String));
    const given = { name: 'conf-admin', role: 'admin', password: 'conformance-password-1' };
    expect(await call({ ...post, body: given }, 201)).toEqual({
      name: 'conf-admin',
      role: 'admin',
    });
    await call({ ...post, body: given }, 409);
    await call({ ...post, body: { name: 'bad name!', role: 'viewer' } }, 400);
    await call({ ...post, body: { ...given, password: 'short' } }, 400);
    await call({ ...post, body: { name: 'conf-x', role: 'robot' } }, 400);
    refusedByRequestSchema(post, { name: 'conf-x', role: 'robot' });
    expect(
      await call({ ...post, body: { name: 'conf-x', role: 'viewer', colour: 1 } }, 400),
    ).toMatchObject({ field: 'colour', detail: 'body: unknown field "colour"' });
    expect(await call({ ...post, body: { name: 'conf-x' } }, 400)).toMatchObject({
      field: 'role',
    });
    refusedByRequestSchema(post, { name: 'conf-x', role: 'viewer', colour: 1 });
    const users = (await call({ method: 'GET', path: '/users' }, 200)) as Array<{ name: string }>;
    expect(users.map((u) => u.name)).toEqual(['admin', 'conf-admin', 'conf-viewer']);

    const passwd = { method: 'PUT', path: '/users/{name}/password' } as const;
    expect(
      await call(
        { ...passwd, params: { name: 'conf-admin' }, body: { password: 'conformance-password-2' } },
        200,
      ),
    ).toEqual({});
    expect(await call({ ...passwd, params: { name: 'conf-viewer' }, body: {} }, 200)).toEqual({
      password: expect.any(String),
    });
    await call({ ...passwd, params: { name: 'conf-admin' }, body: { password: 'short' } }, 400);
    await call({ ...passwd, params: { name: 'conf-admin' }, body: { colour: 1 } }, 400);
    refusedByRequestSchema(passwd, { colour: 1 });
    await call({ ...passwd, params: { name: 'ghost' }, body: {} }, 404);

    // A viewer: no user list, no one else's password.
    await call(
      { ...passwd, params: { name: 'conf-viewer' }, body: { password: 'viewer-password-1' } },
      200,
    );
    const asViewer = await signIn(fx.controller.adminUrl, 'conf-viewer', 'viewer-password-1');
    const viewerSession = { session: asViewer.session, csrf: asViewer.csrf };
    await call({ method: 'GET', path: '/users', ...viewerSession }, 403);
    await call({ ...passwd, params: { name: 'conf-admin' }, body: {}, ...viewerSession }, 403);

    const remove = { method: 'DELETE', path: '/users/{name}' } as const;
    await call({ ...remove, params: { name: 'conf-admin' } }, 204);
    await call({ ...remove, params: { name: 'conf-admin' } }, 404);
  });

  it('API tokens: create, use, list, revoke', async () => {
    const post = { method: 'POST', path: '/api-tokens' } as const;
    const created = (await call(
      { ...post, body: { name: 'conf-ci', expires_in_seconds: 3600 } },
      201,
    )) as {
      id: string;
      token: string;
    };
    expect(
      await call({ ...post, body: { name: 'conf-ci', expires_in_seconds: 10 } }, 400),
    ).toMatchObject({ field: 'expires_in_seconds' });
    refusedByRequestSchema(post, { name: 'conf-ci', expires_in_seconds: 10 });
    await call({ ...post, body: { name: 'conf-ci', expires_in_seconds: 60, colour: 1 } }, 400);
    refusedByRequestSchema(post, { name: 'conf-ci', expires_in_seconds: 60, colour: 1 });
    expect(await call({ method: 'GET', path: '/session', bearer: created.token }, 200)).toEqual({
      user: 'admin',
      role: 'admin',
      via: 'api-token',
    });
    const list = { method: 'GET', path: '/api-tokens' } as const;
    expect(await call(list, 200)).toEqual([
      expect.objectContaining({ id: created.id, revoked_at: null }),
    ]);
    const revoke = { method: 'DELETE', path: '/api-tokens/{id}' } as const;
    await call({ ...revoke, params: { id: created.id } }, 204);
    await call({ ...revoke, params: { id: created.id } }, 404);
    expect(await call(list, 200)).toEqual([
      expect.objectContaining({ id: created.id, revoked_at: expect.any(String) }),
    ]);
  });

  it('refuses a body over 16 KiB on every endpoint that takes one (413)', async () => {
    const calls: Call[] = [];
    each((method, path, op) => {
      if (op.responses['413'] !== undefined)
        calls.push({ method, path, params: anyParams(path), rawBody: tooLarge });
    });
    expect(calls.length).toBeGreaterThan(10);
    for (const c of calls) await call(c, 413);
  });

  it('refuses every endpoint but the public ones without a credential (401)', async () => {
    // Every operation needs the bearer or the session cookie, unless it says `security: []`.
    expect(doc.security).toEqual([{ bearer: [] }, { session: [] }]);
    expect(Object.keys(doc.components.securitySchemes ?? {}).sort()).toEqual(['bearer', 'session']);
    const calls: Call[] = [];
    const open: string[] = [];
    each((method, path, op) => {
      if (op.security?.length === 0) open.push(`${method} ${path}`);
      else calls.push({ method, path, params: anyParams(path), token: null });
    });
    expect(open).toEqual(['POST /session']);
    for (const c of calls) await call(c, 401);
  });

  it('called every operation of the description with each status it documents', () => {
    const missing: string[] = [];
    each((method, path, op) => {
      const seen = exercised.get(operationKey(method, path)) ?? new Set<string>();
      for (const status of Object.keys(op.responses))
        if (!NOT_PROVOKED.has(status) && !seen.has(status))
          missing.push(`${method} ${path} ${status}`);
    });
    expect(missing).toEqual([]);
  });
});
