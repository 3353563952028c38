import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_MAX_BODY_BYTES } from '../src/admin-api';
import { ADMIN_LIMIT_DEFAULTS } from '../src/internal/admin-guard';
import {
  admin,
  controlPlaneClient,
  enrollNew,
  StreamRecorder,
  startController,
  summarisedRefusals,
  testClock,
} from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

describe('admin HTTP API', () => {
  // Near real time: the controller's TLS certificates are issued at the injected time too.
  const T0 = Math.floor(Date.now() / 1000) * 1000;
  const clock = testClock(new Date(T0));
  const at = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();
  let fx: ControllerFixture;

  beforeAll(async () => {
    fx = await startController({
      clock: clock.now,
      agentOfflineAfterSeconds: 30,
      auditSummaryIntervalSeconds: 1,
      // The suite fails authentication a dozen times from one address on a frozen clock.
      adminLimits: { ...ADMIN_LIMIT_DEFAULTS, authFailuresPerMinute: 1000 },
    });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  describe('authentication', () => {
    it.each([
      ['no Authorization header', null, 'missing Authorization: Bearer <admin token>'],
      ['a wrong token', 'wrong-token-wrong-token', 'invalid admin token'],
      ['a token that is a prefix of the right one', 'test-admin-token', 'invalid admin token'],
    ])(
      'answers 401 with a reason for %s, and counts the refusal in the audit summary',
      async (_what, token, reason) => {
        for (const [method, path] of [
          ['GET', '/api/admin/connectors'],
          ['POST', '/api/admin/tokens'],
          ['GET', '/api/admin/bootstrap-ca'],
          ['GET', '/api/admin/does-not-exist'],
        ] as const) {
          const res = await admin(fx.controller, path, {
            method,
            token,
            ...(method === 'POST' ? { body: { kind: 'connector', id: 'x' } } : {}),
          });
          expect(res.status).toBe(401);
          // The fields clients have always read, plus the RFC 9457 members and the code.
          expect(res.json).toEqual({
            error: 'unauthorized',
            reason,
            type: 'https://github.com/sigil-dev/sigil/blob/main/docs/errors.md#err_admin_unauthorized',
            title: expect.any(String),
            status: 401,
            detail: reason,
            instance: path,
            code: 'ERR_ADMIN_UNAUTHORIZED',
          });
          expect(res.headers.get('content-type')).toBe('application/problem+json');
          expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sigil-admin"');
        }
        expect(await summarisedRefusals(fx.controller, 'admin.unauthorized', 4)).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ address_prefix: '127.0.0.0/24', reason: expect.any(String) }),
          ]),
        );
      },
    );

    it('serves /healthz, /readyz and /metrics without authentication', async () => {
      expect((await admin(fx.controller, '/healthz', { token: null })).status).toBe(200);
      expect((await admin(fx.controller, '/readyz', { token: null })).json).toEqual({
        status: 'ready',
        store: { dialect: 'sqlite', location: expect.any(String), up: true },
      });
      const metrics = await admin(fx.controller, '/metrics', { token: null });
      expect(metrics.status).toBe(200);
      for (const name of [
        'sigil_controller_enrollments_total',
        'sigil_controller_renewals_total',
        'sigil_controller_refusals_total',
        'sigil_controller_connected_agents',
        'sigil_controller_heartbeat_latency_seconds',
        'sigil_controller_store_up',
        'sigil_controller_certificate_expiry_days',
      ]) {
        expect(metrics.text).toContain(name);
      }
      expect(metrics.text).toMatch(
        /sigil_controller_refusals_total\{reason="admin_unauthorized"} \d+/,
      );
    });
  });

  describe('POST /api/admin/tokens', () => {
    it('creates a connector token: 201 {token, expires_at}, default TTL 15 minutes, stored only as a hash', async () => {
      const res = await admin(fx.controller, '/api/admin/tokens', {
        method: 'POST',
        body: { kind: 'connector', id: 'connector-1' },
      });
      expect(res.status).toBe(201);
      const body = res.json as {
        token: string;
        expires_at: string;
        kind: string;
        id: string;
        spiffe_id: string;
      };
      expect(body).toEqual({
        token: expect.stringMatching(/^sigil_et_[A-Za-z0-9_-]{43}$/),
        expires_at: at(15 * 60_000),
        kind: 'connector',
        id: 'connector-1',
        spiffe_id: 'spiffe://test.sigil/connector/connector-1',
      });
      const db =
        readFileSync(join(fx.dataDir, 'controller.db')).toString('latin1') +
        readFileSync(join(fx.dataDir, 'controller.db-wal')).toString('latin1');
      expect(db).not.toContain(body.token);
      expect(fx.lines.join('\n')).not.toContain(body.token);
      const created = (
        await fx.controller.store.listAudit({ limit: 1, action: 'admin.token_created' })
      )[0]!;
      expect(created).toMatchObject({
        actor: 'admin',
        subject: 'spiffe://test.sigil/connector/connector-1',
        details: { kind: 'connector', token: expect.stringMatching(/^[0-9a-f]{12}$/) },
      });
    });

    it('creates a tunneler token naming a known connector, with ttl_seconds', async () => {
      const res = await admin(fx.controller, '/api/admin/tokens', {
        method: 'POST',
        body: { kind: 'tunneler', id: 'tunneler-1', connector_id: 'connector-1', ttl_seconds: 120 },
      });
      expect(res.status).toBe(201);
      expect(res.json).toMatchObject({
        expires_at: at(120_000),
        connector_id: 'connector-1',
        spiffe_id: 'spiffe://test.sigil/tunneler/tunneler-1',
      });
    });

    it.each([
      ['bad JSON', '{"kind": ', undefined, /not valid JSON/],
      ['an empty body', '', undefined, /must be a JSON object/],
      ['a JSON array', '[]', undefined, /must be a JSON object/],
      ['a bad kind', { kind: 'robot', id: 'a' }, 'kind', /kind must be "connector" or "tunneler"/],
      ['a missing id', { kind: 'connector' }, 'id', /id is required/],
      [
        'an id that is no SPIFFE path segment',
        { kind: 'connector', id: 'a/b' },
        'id',
        /id "a\/b" must be 1-128 characters/,
      ],
      [
        'a connector_id on a connector token',
        { kind: 'connector', id: 'a', connector_id: 'b' },
        'connector_id',
        /only for tunneler tokens/,
      ],
      [
        'a tunneler without connector_id',
        { kind: 'tunneler', id: 't' },
        'connector_id',
        /connector_id is required/,
      ],
      [
        'a tunneler naming an unknown connector',
        { kind: 'tunneler', id: 't', connector_id: 'ghost' },
        'connector_id',
        /"ghost" is not a known connector/,
      ],
      [
        'a zero ttl_seconds',
        { kind: 'connector', id: 'a', ttl_seconds: 0 },
        'ttl_seconds',
        /ttl_seconds must be a whole number from 1 to 86400/,
      ],
      [
        'a string ttl_seconds',
        { kind: 'connector', id: 'a', ttl_seconds: '60' },
        'ttl_seconds',
        /ttl_seconds/,
      ],
      [
        'an unknown field',
        { kind: 'connector', id: 'a', connectorId: 'x' },
        'connectorId',
        /unknown field "connectorId"/,
      ],
    ])('answers 400 naming the problem for %s', async (_what, body, field, reason) => {
      const res = await admin(fx.controller, '/api/admin/tokens', {
        method: 'POST',
        ...(typeof body === 'string' ? { rawBody: body } : { body }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.json).toEqual({
        error: 'bad_request',
        reason: expect.stringMatching(reason),
        ...(field === undefined ? {} : { field }),
        type: expect.stringMatching(/docs\/errors\.md#err_(token_)?request_invalid$/),
        title: expect.any(String),
        status: 400,
        detail: expect.stringMatching(reason),
        instance: '/api/admin/tokens',
        code: expect.stringMatching(/^ERR_(TOKEN_)?REQUEST_INVALID$/),
      });
    });

    it(`answers 413 for a body over ${ADMIN_MAX_BODY_BYTES} bytes, declared or streamed`, async () => {
      const big = JSON.stringify({
        kind: 'connector',
        id: 'a',
        pad: 'x'.repeat(ADMIN_MAX_BODY_BYTES),
      });
      const declared = await admin(fx.controller, '/api/admin/tokens', {
        method: 'POST',
        rawBody: big,
      });
      expect(declared.status).toBe(413);
      expect(declared.json).toMatchObject({ error: 'payload_too_large' });
      // Chunked, no Content-Length: the limit applies while reading.
      const streamed = await new Promise<number>((resolve, reject) => {
        const url = new URL('/api/admin/tokens', fx.controller.adminUrl);
        const req = request(
          url,
          {
            method: 'POST',
            headers: {
              authorization: 'Bearer test-admin-token-0123456789abcdef',
              'transfer-encoding': 'chunked',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode!);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 5; i += 1) req.write('x'.repeat(ADMIN_MAX_BODY_BYTES / 2));
        req.end();
      });
      expect(streamed).toBe(413);
    });
  });

  describe('routing', () => {
    it('answers 404 for an unknown admin endpoint and 405 with Allow for a wrong method', async () => {
      const missing = await admin(fx.controller, '/api/admin/nothing-here');
      expect(missing.status).toBe(404);
      expect(missing.json).toMatchObject({ error: 'not_found' });
      const wrong = await admin(fx.controller, '/api/admin/connectors', { method: 'DELETE' });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET');
      expect(wrong.headers.get('content-type')).toBe('application/problem+json');
      expect(wrong.json).toMatchObject({
        error: 'method_not_allowed',
        code: 'ERR_METHOD_NOT_ALLOWED',
        status: 405,
        detail: 'DELETE is not allowed on /api/admin/connectors (allowed: GET)',
        instance: '/api/admin/connectors',
      });
      expect((await admin(fx.controller, '/api/admin/tokens', { method: 'PUT' })).status).toBe(405);
      expect((await admin(fx.controller, '/not-admin')).status).toBe(404);
      expect(
        (await admin(fx.controller, '/api/admin/connectors/%E0%A4%A/renew', { method: 'POST' }))
          .json,
      ).toMatchObject({ error: 'bad_request', field: 'id' });
    });

    it('answers 400 for bad audit query parameters', async () => {
      expect((await admin(fx.controller, '/api/admin/audit?limit=0')).json).toMatchObject({
        field: 'limit',
      });
      expect((await admin(fx.controller, '/api/admin/audit?limit=abc')).status).toBe(400);
      expect((await admin(fx.controller, '/api/admin/audit?before=-1')).json).toMatchObject({
        field: 'before',
      });
      expect(
        (await admin(fx.controller, '/api/admin/audit?action=DROP%20TABLE')).json,
      ).toMatchObject({ field: 'action' });
    });
  });

  describe('the console', () => {
    it('is served at / from the built @sigil/console, without authentication', async () => {
      const page = await fetch(`${fx.controller.adminUrl}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain('<script type="module" src="app.js"></script>');
      expect(html).not.toMatch(/<script>|<style|style=/);
      const script = await fetch(`${fx.controller.adminUrl}/app.js`);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect((await script.text()).length).toBeGreaterThan(1000);
      // The probes stay where they were.
      expect((await fetch(`${fx.controller.adminUrl}/healthz`)).status).toBe(200);
    });
  });

  describe('GET /api/admin/ca', () => {
    interface CaAnswer {
      auto_rotation: boolean;
      next_rotation_at: string | null;
      generations: Array<{ role: string; created_at: string; not_after: string }>;
    }

    it('reports no next rotation without CA_AUTO_ROTATE', async () => {
      const { json } = await admin(fx.controller, '/api/admin/ca');
      expect(json).toMatchObject({ auto_rotation: false, next_rotation_at: null });
    });

    it('reports when CA_AUTO_ROTATE prepares the successor: CA_ROTATE_AT of the lifetime', async () => {
      const auto = await startController({
        caAutoRotate: true,
        caRotateAtFraction: 0.25,
        caAutoRotateIntervalSeconds: 3600,
      });
      try {
        const json = (await admin(auto.controller, '/api/admin/ca')).json as CaAnswer;
        const current = json.generations.find((g) => g.role === 'current')!;
        const created = Date.parse(current.created_at);
        const lifetime = Date.parse(current.not_after) - created;
        expect(json.auto_rotation).toBe(true);
        expect(Date.parse(json.next_rotation_at!)).toBe(Math.floor(created + lifetime * 0.25));
      } finally {
        await auto.cleanup();
      }
    });
  });

  describe('listing', () => {
    it('lists connectors and tunnelers with snake_case fields and ONLINE/OFFLINE status', async () => {
      await enrollNew(fx.controller, 'connector', 'connector-2');
      await enrollNew(fx.controller, 'tunneler', 'tunneler-2', 'connector-2');
      const connectors = await admin(fx.controller, '/api/admin/connectors');
      expect(connectors.status).toBe(200);
      expect(connectors.json).toEqual([
        {
          id: 'connector-2',
          private_ip: '10.0.0.7',
          last_seen: at(0),
          version: '1.0.0',
          status: 'ONLINE',
          connected: false,
          clock_skew_ms: null,
          upgrade_required: false,
          certificate_expires_at: expect.any(String),
        },
      ]);
      const tunnelers = await admin(fx.controller, '/api/admin/tunnelers');
      expect(tunnelers.json).toEqual([
        {
          id: 'tunneler-2',
          connector_id: 'connector-2',
          last_seen: at(0),
          version: '1.0.0',
          status: 'ONLINE',
          clock_skew_ms: null,
          upgrade_required: false,
          certificate_expires_at: expect.any(String),
        },
      ]);
      // The latest certificate issued at enrollment, still valid.
      const [listed] = connectors.json as Array<{ certificate_expires_at: string }>;
      expect(Date.parse(listed!.certificate_expires_at)).toBeGreaterThan(Date.parse(at(0)));
      clock.advance(31_000);
      expect(
        (
          (await admin(fx.controller, '/api/admin/connectors')).json as Array<{ status: string }>
        )[0]!.status,
      ).toBe('OFFLINE');
      const summary = await admin(fx.controller, '/api/admin/summary');
      expect(summary.json).toMatchObject({
        connectors: { total: 1, online: 0, offline: 1 },
        tunnelers: { total: 1, online: 0, offline: 1 },
        // Where agents reach the controller: the console's install commands start from it.
        grpc_listen_addr: fx.controller.grpcAddress,
      });
      expect(
        (summary.json as { latest_activity: unknown[] }).latest_activity.length,
      ).toBeGreaterThan(0);
    });

    it('lists the audit trail newest first, filtered and paged', async () => {
      const all = (await admin(fx.controller, '/api/admin/audit?limit=1000')).json as Array<{
        id: number;
        action: string;
        at: string;
        outcome: string;
      }>;
      expect(all.length).toBeGreaterThan(5);
      expect(all[0]!.id).toBeGreaterThan(all[1]!.id);
      expect(all.map((r) => r.action)).toEqual(
        expect.arrayContaining([
          'admin.token_created',
          'enrollment.succeeded',
          'audit.refusals_summary',
        ]),
      );
      const enrollments = (
        await admin(fx.controller, '/api/admin/audit?action=enrollment.succeeded')
      ).json as Array<{ action: string }>;
      expect(enrollments.map((r) => r.action)).toEqual([
        'enrollment.succeeded',
        'enrollment.succeeded',
      ]);
      expect(
        all
          .filter((r) => r.outcome === 'refused')
          .every((r) => r.action === 'audit.refusals_summary'),
      ).toBe(true);
      const page = (await admin(fx.controller, `/api/admin/audit?limit=2&before=${all[0]!.id}`))
        .json as Array<{ id: number }>;
      expect(page.map((r) => r.id)).toEqual([all[1]!.id, all[2]!.id]);
    });

    it('serves the bootstrap CA certificate, identical to $DATA_DIR/bootstrap-ca.crt', async () => {
      const res = await admin(fx.controller, '/api/admin/bootstrap-ca');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-pem-file');
      expect(res.text).toBe(readFileSync(join(fx.dataDir, 'bootstrap-ca.crt'), 'utf8'));
    });

    it('sends RenewNow through POST /api/admin/connectors/{id}/renew: 202, 409 when not connected, 404 when unknown', async () => {
      expect(
        (await admin(fx.controller, '/api/admin/connectors/connector-2/renew', { method: 'POST' }))
          .status,
      ).toBe(409);
      expect(
        (await admin(fx.controller, '/api/admin/connectors/ghost/renew', { method: 'POST' }))
          .status,
      ).toBe(404);
      const connector = await enrollNew(fx.controller, 'connector', 'connector-3');
      const client = controlPlaneClient(
        fx.controller.grpcAddress,
        fx.controller.bootstrapCaPem,
        connector.identity,
      );
      try {
        const stream = new StreamRecorder(client.connect());
        await stream.next('approvedTunnelers');
        const res = await admin(fx.controller, '/api/admin/connectors/connector-3/renew', {
          method: 'POST',
        });
        expect(res.status).toBe(202);
        const { command_id: commandId } = res.json as { command_id: string };
        expect((await stream.next('renewNow')).commandId).toBe(commandId);
        expect(
          (await fx.controller.store.listAudit({ limit: 1, action: 'admin.renewal_requested' }))[0]!
            .details,
        ).toEqual({
          command_id: commandId,
          address: '127.0.0.1',
          user_agent: 'node',
          via: 'admin-token',
        });
        stream.call.end();
        await stream.until(() => stream.status !== undefined, 'stream end');
      } finally {
        client.close();
      }
    });
  });
});
