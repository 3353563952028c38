import { ADMIN_MAX_BODY_BYTES } from '../src/admin-api';
import { admin, startController } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

interface OpenApi {
  openapi: string;
  components: { schemas: Record<string, unknown> };
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: { properties?: object } }> };
        responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
      }
    >
  >;
}

describe('admin OpenAPI description and body limit on a running controller', () => {
  let fx: ControllerFixture;
  beforeAll(async () => {
    fx = await startController({});
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  it('lists the token, agent, revoke, CA, data-plane, entry and JWT authority endpoints with their request and response schemas, without authentication', async () => {
    const res = await admin(fx.controller, '/api/admin/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = res.json as OpenApi;
    expect(doc.openapi).toMatch(/^3\./);
    const op = (path: string, method: string) => {
      const found = doc.paths[path]?.[method];
      if (found === undefined) throw new Error(`${method} ${path} is not in the description`);
      return found;
    };
    const bodyOf = (path: string, method: string) =>
      op(path, method).requestBody?.content['application/json']?.schema;
    const response = (path: string, method: string, status: string) =>
      op(path, method).responses[status]?.content?.['application/json']?.schema;

    expect(bodyOf('/api/admin/tokens', 'post')).toMatchObject({
      required: ['kind', 'id'],
      properties: { kind: { enum: ['connector', 'tunneler'] }, connector_id: {}, ttl_seconds: {} },
    });
    expect(response('/api/admin/tokens', 'post', '201')).toMatchObject({
      properties: { token: {}, expires_at: {}, spiffe_id: {} },
    });
    expect(response('/api/admin/tokens', 'get', '200')).toMatchObject({
      type: 'array',
      items: { properties: { token_id: {} } },
    });
    expect(response('/api/admin/tokens/{token_id}', 'delete', '200')).toBeDefined();
    for (const kind of ['connectors', 'tunnelers']) {
      expect(response(`/api/admin/${kind}`, 'get', '200')).toMatchObject({
        type: 'array',
        items: { properties: { id: {}, status: { enum: ['ONLINE', 'OFFLINE', 'REVOKED'] } } },
      });
      expect(bodyOf(`/api/admin/${kind}/{id}/revoke`, 'post')).toMatchObject({
        properties: { reason: { type: 'string' } },
      });
      for (const status of ['200', '201'])
        expect(response(`/api/admin/${kind}/{id}/revoke`, 'post', status)).toMatchObject({
          properties: { spiffe_id: {}, revoked_at: {}, active: {} },
        });
    }
    expect(response('/api/admin/revocations', 'get', '200')).toMatchObject({ type: 'array' });
    expect(response('/api/admin/ca', 'get', '200')).toMatchObject({
      properties: { generations: { type: 'array' } },
    });
    expect(bodyOf('/api/admin/ca/prepare', 'post')).toMatchObject({
      properties: { ttl_seconds: {}, upstream: {} },
    });
    expect(bodyOf('/api/admin/ca/retire', 'post')).toMatchObject({
      properties: { force: {}, wait_seconds: {} },
    });
    for (const path of ['/api/admin/ca/prepare', '/api/admin/ca/activate', '/api/admin/ca/retire'])
      expect(response(path, 'post', '200')).toMatchObject({ properties: { current: {} } });
    expect(response('/api/admin/connectors/{id}/renew', 'post', '202')).toMatchObject({
      properties: { command_id: {}, connector_id: {} },
    });
    expect(response('/api/admin/summary', 'get', '200')).toMatchObject({
      properties: { connectors: {}, tunnelers: {}, latest_activity: {} },
    });
    expect(bodyOf('/api/admin/agent-versions', 'put')).toMatchObject({
      properties: { connector_min: {}, tunneler_min: {} },
    });
    expect(op('/api/admin/bootstrap-ca', 'get').responses['200']?.content).toHaveProperty([
      'application/x-pem-file',
    ]);
    // Refusals are RFC 9457 problem bodies, named Problem.
    const ref = (
      op('/api/admin/tokens', 'post').responses['400']?.content?.['application/problem+json']
        ?.schema as { $ref: string }
    ).$ref;
    expect(ref).toBe('#/components/schemas/Problem');
    expect(doc.components.schemas.Problem).toMatchObject({
      properties: { code: {}, status: {}, detail: {} },
    });
    expect(bodyOf('/api/admin/resources', 'post')).toMatchObject({
      required: ['name', 'address', 'connector_id'],
    });
    expect(response('/api/admin/grants', 'get', '200')).toMatchObject({ type: 'array' });
    expect(bodyOf('/api/admin/entries', 'post')).toMatchObject({
      required: ['spiffe_id', 'parent_id', 'selectors'],
    });
    expect(response('/api/admin/entries/{id}', 'delete', '200')).toBeDefined();
    expect(response('/api/admin/jwt-authority', 'get', '200')).toMatchObject({
      properties: { keys: {}, retire_allowed_at: {} },
    });
    // A body the endpoint does without is not required.
    expect(op('/api/admin/ca/retire', 'post').requestBody).toMatchObject({ required: false });
    expect(op('/api/admin/tokens', 'post').requestBody).toMatchObject({ required: true });
    // The catch-all to the other endpoints is no documented path.
    expect(Object.keys(doc.paths).some((p) => p.includes('*'))).toBe(false);
  });

  it('keeps the documented endpoints answering as before', async () => {
    const created = await admin(fx.controller, '/api/admin/tokens', {
      method: 'POST',
      body: { kind: 'connector', id: 'openapi-01' },
    });
    expect(created.status).toBe(201);
    const unknown = await admin(fx.controller, '/api/admin/tokens', {
      method: 'POST',
      body: { kind: 'connector', id: 'openapi-02', colour: 'red' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ code: 'ERR_REQUEST_INVALID', field: 'colour' });
    const revoked = await admin(fx.controller, '/api/admin/connectors/openapi-01/revoke', {
      method: 'POST',
      body: { reason: 'test' },
    });
    // Not enrolled yet: as before, a 404 problem.
    expect(revoked.status).toBe(404);
    expect(revoked.headers.get('content-type')).toBe('application/problem+json');
    expect(revoked.json).toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('asks for the token before answering a path that is not valid percent-encoding', async () => {
    const path = '/api/admin/connectors/%E0%A4%A/renew';
    const anonymous = await admin(fx.controller, path, { method: 'POST', token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="sigil-admin"');
    const signed = await admin(fx.controller, path, { method: 'POST' });
    expect(signed.status).toBe(400);
    expect(signed.json).toMatchObject({ code: 'ERR_REQUEST_INVALID', field: 'id' });
  });

  it.each([
    ['POST', '/api/admin/tokens'],
    ['POST', '/api/admin/connectors/openapi-03/revoke'],
    ['POST', '/api/admin/ca/retire'],
    ['POST', '/healthz'],
  ])(
    `answers %s %s with a body over ${ADMIN_MAX_BODY_BYTES} bytes with 413 and a problem body`,
    async (method, path) => {
      const res = await admin(fx.controller, path, {
        method,
        rawBody: JSON.stringify({ pad: 'x'.repeat(ADMIN_MAX_BODY_BYTES) }),
      });
      expect(res.status).toBe(413);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.json).toMatchObject({
        code: 'ERR_PAYLOAD_TOO_LARGE',
        status: 413,
        error: 'payload_too_large',
      });
    },
  );
});
