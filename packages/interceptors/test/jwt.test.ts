// Bearer-token verification and tenant isolation over real mTLS on loopback.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SigilError } from '@sigil/errors';
import { Registry } from 'prom-client';
import {
  createIdentityInterceptor,
  createJwtInterceptor,
  getClaims,
  jwtOptionsFromEnv,
  requireTenant,
} from '@sigil/interceptors';
import type { JwtInterceptorOptions } from '@sigil/interceptors';
import {
  createMemoryLogger,
  EchoClient,
  failure,
  HealthClient,
  startEchoServer,
  unary,
} from '@sigil/testing';
import type { EchoHandlers, Json, MemoryLogger, RunningEchoServer } from '@sigil/testing';
import { AUDIENCE, ISSUER, createTokenIssuer, serveJwks, bearer } from './helpers/jwt';
import type { TokenIssuer } from './helpers/jwt';
import { CLIENT_OPTIONS, createTestPki, TRUST_DOMAIN } from './helpers/tls';
import type { TestPki } from './helpers/tls';

const CALLER = `spiffe://${TRUST_DOMAIN}/svc/user-service`;

describe('JWT verification', () => {
  let pki: TestPki;
  let issuer: TokenIssuer;
  let dir: string;
  let jwksFile: string;
  const servers: RunningEchoServer[] = [];
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    pki = await createTestPki();
    issuer = await createTokenIssuer();
    dir = mkdtempSync(join(tmpdir(), 'sigil-jwt-'));
    jwksFile = issuer.writeJwks(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const claimsEcho: EchoHandlers = {
    echo: (call, callback) => callback(null, { claims: getClaims(call) ?? null }),
  };

  async function serve(
    options: Partial<JwtInterceptorOptions> & { logs?: MemoryLogger; handlers?: EchoHandlers } = {},
  ) {
    const { logs = createMemoryLogger(), handlers = claimsEcho, ...jwt } = options;
    const server = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: [
        createIdentityInterceptor(),
        createJwtInterceptor({
          jwks: { file: jwksFile },
          issuer: ISSUER,
          audience: AUDIENCE,
          logger: logs.logger,
          registry: new Registry(),
          ...jwt,
        }),
      ],
      handlers,
    });
    servers.push(server);
    return server;
  }

  async function client<C extends grpc.Client>(
    server: RunningEchoServer,
    Ctor: new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => C,
  ): Promise<C> {
    const c = new Ctor(
      server.address,
      await pki.clientCredentials({ spiffeId: CALLER }),
      CLIENT_OPTIONS,
    );
    clients.push(c);
    return c;
  }

  it('verifies a valid token and gives the handler its claims', async () => {
    const server = await serve();
    const token = await issuer.sign({ sub: 'user-1', tenant_id: 'acme' });
    const reply = await unary(await client(server, EchoClient), 'echo', {}, bearer(token));
    expect(reply.claims).toMatchObject({
      sub: 'user-1',
      tenant_id: 'acme',
      iss: ISSUER,
      aud: AUDIENCE,
    });
  });

  it('refuses a call without a token with UNAUTHENTICATED, before the handler runs', async () => {
    let ran = false;
    const server = await serve({ handlers: { echo: (_c, cb) => ((ran = true), cb(null, {})) } });
    const err = await failure(unary(await client(server, EchoClient), 'echo'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe('missing bearer token: send metadata "authorization: Bearer <JWT>"');
    expect(ran).toBe(false);
  });

  it('refuses authorization metadata that is not a bearer JWT', async () => {
    const server = await serve();
    const metadata = new grpc.Metadata();
    metadata.set('authorization', 'Basic dXNlcjpwYXNz');
    const err = await failure(unary(await client(server, EchoClient), 'echo', {}, metadata));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toContain('not a single "Bearer <JWT>" value');
  });

  it('refuses a token signed by another key', async () => {
    const server = await serve();
    const forger = await createTokenIssuer('test-key');
    const err = await failure(
      unary(
        await client(server, EchoClient),
        'echo',
        {},
        bearer(await forger.sign({ sub: 'user-1' })),
      ),
    );
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe('invalid bearer token: signature verification failed');
  });

  it('refuses a token for another audience or issuer', async () => {
    const server = await serve();
    const c = await client(server, EchoClient);
    const aud = await failure(
      unary(c, 'echo', {}, bearer(await issuer.sign({ sub: 'u' }, { audience: 'someone-else' }))),
    );
    expect(aud.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(aud.details).toBe('invalid bearer token: unexpected "aud" claim value');
    const iss = await failure(
      unary(
        c,
        'echo',
        {},
        bearer(await issuer.sign({ sub: 'u' }, { issuer: 'https://evil.example/' })),
      ),
    );
    expect(iss.details).toBe('invalid bearer token: unexpected "iss" claim value');
  });

  it('refuses an expired token', async () => {
    const server = await serve();
    const expired = await issuer.sign({ sub: 'u' }, { exp: Math.floor(Date.now() / 1000) - 60 });
    const err = await failure(unary(await client(server, EchoClient), 'echo', {}, bearer(expired)));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe('the bearer token has expired');
  });

  it('judges expiry by the injected clock', async () => {
    const token = await issuer.sign({ sub: 'u' }, { exp: Math.floor(Date.now() / 1000) + 3600 });
    const later = await serve({ now: () => new Date(Date.now() + 2 * 3600 * 1000) });
    expect(
      (await failure(unary(await client(later, EchoClient), 'echo', {}, bearer(token)))).details,
    ).toBe('the bearer token has expired');
  });

  it('refuses a token without exp, which would otherwise be valid forever', async () => {
    const server = await serve();
    const forever = await issuer.sign({ sub: 'u' }, { exp: null });
    const err = await failure(unary(await client(server, EchoClient), 'echo', {}, bearer(forever)));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe('invalid bearer token: missing required "exp" claim');
  });

  it('with maxTokenAgeSeconds, refuses a token issued too long ago (or with no iat) though exp is ahead', async () => {
    const server = await serve({ maxTokenAgeSeconds: 600 });
    const c = await client(server, EchoClient);
    const now = Math.floor(Date.now() / 1000);
    const old = await issuer.sign({ sub: 'u' }, { iat: now - 3600, exp: now + 3600 });
    const err = await failure(unary(c, 'echo', {}, bearer(old)));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe(
      'the bearer token is too old: issued more than 600s ago (the maximum token age)',
    );
    const undated = await issuer.sign({ sub: 'u' }, { iat: null });
    expect((await failure(unary(c, 'echo', {}, bearer(undated)))).details).toBe(
      'invalid bearer token: missing required "iat" claim',
    );
    const fresh = await issuer.sign({ sub: 'u' }, { iat: now - 60 });
    await expect(unary(c, 'echo', {}, bearer(fresh))).resolves.toMatchObject({
      claims: { sub: 'u' },
    });
  });

  it('warns once at creation when issuer or audience is not configured', () => {
    const logs = createMemoryLogger();
    createJwtInterceptor({ jwks: { file: jwksFile }, audience: AUDIENCE, logger: logs.logger });
    expect(logs.records.filter((r) => r.event === 'jwt.config-unchecked-claims')).toEqual([
      expect.objectContaining({
        level: 40,
        unchecked: ['issuer'],
        variables: ['SIGIL_JWT_ISSUER'],
        msg: 'JWT interceptor: no issuer configured, so tokens minted for other services are accepted; set SIGIL_JWT_ISSUER (options issuer)',
      }),
    ]);
    const none = createMemoryLogger();
    createJwtInterceptor({ jwks: { file: jwksFile }, logger: none.logger });
    expect(none.records.find((r) => r.event === 'jwt.config-unchecked-claims')).toMatchObject({
      unchecked: ['issuer', 'audience'],
      variables: ['SIGIL_JWT_ISSUER', 'SIGIL_JWT_AUDIENCE'],
    });
    const both = createMemoryLogger();
    createJwtInterceptor({
      jwks: { file: jwksFile },
      issuer: ISSUER,
      audience: AUDIENCE,
      logger: both.logger,
    });
    expect(both.records).toEqual([]);
  });

  it('logs and counts a refusal with a token hash, never the token', async () => {
    const logs = createMemoryLogger();
    const registry = new Registry();
    const server = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: [
        createJwtInterceptor({
          jwks: { file: jwksFile },
          audience: AUDIENCE,
          logger: logs.logger,
          registry,
        }),
      ],
    });
    servers.push(server);
    const expired = await issuer.sign({ sub: 'u' }, { exp: Math.floor(Date.now() / 1000) - 60 });
    await failure(unary(await client(server, EchoClient), 'echo', {}, bearer(expired)));
    const record = logs.records.find((r) => r.event === 'jwt.rejected');
    expect(record).toMatchObject({
      level: 40,
      reason: 'expired',
      method: 'sigil.test.v1.EchoService/Echo',
      spiffeId: CALLER,
      tokenHash: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    expect(JSON.stringify(logs.records)).not.toContain(expired);
    const counted = await registry.getSingleMetric('sigil_jwt_rejected_total')!.get();
    expect(counted.values).toEqual([
      {
        value: 1,
        labels: {
          grpc_service: 'sigil.test.v1.EchoService',
          grpc_method: 'Echo',
          reason: 'expired',
        },
      },
    ]);
  });

  it('exempts grpc.health.v1 by default', async () => {
    const server = await serve();
    await expect(unary(await client(server, HealthClient), 'check')).resolves.toEqual({
      status: 'SERVING',
    });
  });

  it('with required: false, lets a call without a token through but still refuses a bad one', async () => {
    const server = await serve({ required: false });
    const c = await client(server, EchoClient);
    await expect(unary(c, 'echo')).resolves.toEqual({ claims: null });
    const forged = await (await createTokenIssuer()).sign({ sub: 'u' });
    expect((await failure(unary(c, 'echo', {}, bearer(forged)))).code).toBe(
      grpc.status.UNAUTHENTICATED,
    );
  });

  it('fetches keys from a JWKS URL once and caches them', async () => {
    const jwksServer = await serveJwks(issuer.jwks);
    try {
      const server = await serve({ jwks: { url: jwksServer.url } });
      const c = await client(server, EchoClient);
      const token = await issuer.sign({ sub: 'remote-user' });
      expect((await unary(c, 'echo', {}, bearer(token))).claims).toMatchObject({
        sub: 'remote-user',
      });
      expect((await unary(c, 'echo', {}, bearer(token))).claims).toMatchObject({
        sub: 'remote-user',
      });
      expect(jwksServer.fetches()).toBe(1);
    } finally {
      await jwksServer.close();
    }
  });

  it('answers UNAVAILABLE, not UNAUTHENTICATED, when the JWKS URL cannot be reached', async () => {
    const jwksServer = await serveJwks(issuer.jwks);
    await jwksServer.close();
    const server = await serve({ jwks: { url: jwksServer.url } });
    const err = await failure(
      unary(await client(server, EchoClient), 'echo', {}, bearer(await issuer.sign({ sub: 'u' }))),
    );
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('cannot verify the bearer token: the JWKS is unavailable');
  });

  describe('configuration errors', () => {
    const configError = (options: JwtInterceptorOptions): SigilError => {
      try {
        createJwtInterceptor({
          logger: createMemoryLogger().logger,
          registry: new Registry(),
          ...options,
        });
      } catch (err) {
        expect(err).toBeInstanceOf(SigilError);
        expect((err as SigilError).code).toBe('ERR_JWT_CONFIG_INVALID');
        return err as SigilError;
      }
      throw new Error('expected ERR_JWT_CONFIG_INVALID');
    };

    it('names a missing JWKS file', () => {
      expect(configError({ jwks: { file: join(dir, 'nope.json') } }).message).toBe(
        `JWKS file ${join(dir, 'nope.json')}: no such file`,
      );
    });

    it('refuses a JWKS file that is not JSON or not a key set', () => {
      const notJson = join(dir, 'not-json.json');
      writeFileSync(notJson, '{ keys: ');
      expect(configError({ jwks: { file: notJson } }).message).toContain(
        `JWKS file ${notJson}: not valid JSON`,
      );
      const noKeys = join(dir, 'no-keys.json');
      writeFileSync(noKeys, '{"keys": []}');
      expect(configError({ jwks: { file: noKeys } }).message).toContain(
        'expected a JSON Web Key Set',
      );
    });

    it('refuses a JWKS file holding a private key', () => {
      const leaked = join(dir, 'private.json');
      writeFileSync(leaked, JSON.stringify({ keys: [{ ...issuer.jwks.keys[0], d: 'c2VjcmV0' }] }));
      expect(configError({ jwks: { file: leaked } }).message).toBe(
        `JWKS file ${leaked}: keys[0] is a private key; publish only public keys`,
      );
    });

    it('refuses a plain-http JWKS URL outside loopback', () => {
      expect(configError({ jwks: { url: 'http://auth.example.org/jwks.json' } }).message).toContain(
        'must use https:',
      );
      expect(configError({ jwks: { url: 'not a url' } }).message).toContain('is not a valid URL');
    });

    it('refuses a bad exempt method pattern', () => {
      expect(
        configError({ jwks: { file: jwksFile }, exemptMethods: ['Health'] }).message,
      ).toContain('exemptMethods "Health"');
    });
  });

  describe('tenant isolation', () => {
    const tenantOf = (message: unknown): string | undefined =>
      (message as Json).tenantId as string | undefined;

    it('accepts a call for the token tenant', async () => {
      const server = await serve({ tenant: { fromRequest: tenantOf } });
      const metadata = bearer(await issuer.sign({ sub: 'u', tenant_id: 'acme' }));
      metadata.set('x-tenant-id', 'acme');
      await expect(
        unary(await client(server, EchoClient), 'echo', { tenantId: 'acme' }, metadata),
      ).resolves.toMatchObject({ claims: { tenant_id: 'acme' } });
    });

    it('refuses a tenant metadata mismatch with PERMISSION_DENIED', async () => {
      const server = await serve({ tenant: {} });
      const metadata = bearer(await issuer.sign({ sub: 'u', tenant_id: 'acme' }));
      metadata.set('x-tenant-id', 'globex');
      const err = await failure(unary(await client(server, EchoClient), 'echo', {}, metadata));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe(
        'tenant mismatch: metadata "x-tenant-id" names tenant "globex" but the token is for tenant "acme"',
      );
    });

    it('refuses a request message for another tenant before the handler sees it', async () => {
      let ran = false;
      const server = await serve({
        tenant: { fromRequest: tenantOf },
        handlers: { echo: (_c, cb) => ((ran = true), cb(null, {})) },
      });
      const token = await issuer.sign({ sub: 'u', tenant_id: 'acme' });
      const err = await failure(
        unary(await client(server, EchoClient), 'echo', { tenantId: 'globex' }, bearer(token)),
      );
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe(
        'tenant mismatch: the request names tenant "globex" but the token is for tenant "acme"',
      );
      expect(ran).toBe(false);
    });

    it('checks every message of a stream', async () => {
      const server = await serve({ tenant: { fromRequest: tenantOf } });
      const c = await client(server, EchoClient);
      const chat = (
        c as unknown as { chat(m: grpc.Metadata): grpc.ClientDuplexStream<Json, Json> }
      ).chat(bearer(await issuer.sign({ sub: 'u', tenant_id: 'acme' })));
      const replies: Json[] = [];
      chat.on('data', (m: Json) => {
        replies.push(m);
        if (replies.length === 1) chat.write({ tenantId: 'globex' });
      });
      chat.on('error', () => undefined);
      chat.write({ tenantId: 'acme' });
      const status = await new Promise<grpc.StatusObject>((resolve) => chat.on('status', resolve));
      expect(replies).toEqual([{ tenantId: 'acme' }]);
      expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(status.details).toContain('"globex"');
    });

    it('refuses a token without the tenant claim', async () => {
      const server = await serve({ tenant: { claim: 'org' } });
      const err = await failure(
        unary(
          await client(server, EchoClient),
          'echo',
          {},
          bearer(await issuer.sign({ sub: 'u', tenant_id: 'acme' })),
        ),
      );
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(err.details).toBe('the bearer token has no "org" claim; this service requires one');
    });

    it('requireTenant in a handler: PERMISSION_DENIED for another tenant, UNAUTHENTICATED without a token', async () => {
      const server = await serve({
        required: false,
        handlers: {
          echo: (call, callback) => {
            try {
              requireTenant(call, (call.request as Json).tenantId as string);
            } catch (err) {
              callback(err as grpc.ServiceError);
              return;
            }
            callback(null, { ok: true });
          },
        },
      });
      const c = await client(server, EchoClient);
      const token = await issuer.sign({ sub: 'u', tenant_id: 'acme' });
      await expect(unary(c, 'echo', { tenantId: 'acme' }, bearer(token))).resolves.toEqual({
        ok: true,
      });
      const other = await failure(unary(c, 'echo', { tenantId: 'globex' }, bearer(token)));
      expect(other.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(other.details).toBe(
        'tenant mismatch: the request is for tenant "globex" but the token is for tenant "acme"',
      );
      const anonymous = await failure(unary(c, 'echo', { tenantId: 'acme' }));
      expect(anonymous.code).toBe(grpc.status.UNAUTHENTICATED);
    });
  });
});

describe('jwtOptionsFromEnv', () => {
  it('is off without a JWKS variable', () => {
    expect(jwtOptionsFromEnv({ SIGIL_JWT_ISSUER: 'x' })).toBeUndefined();
  });

  it('reads every variable', () => {
    expect(
      jwtOptionsFromEnv({
        SIGIL_JWT_JWKS_URL: 'https://auth.example.org/jwks.json',
        SIGIL_JWT_ISSUER: 'https://auth.example.org/',
        SIGIL_JWT_AUDIENCE: 'sigil, sigil-internal',
        SIGIL_JWT_ALGORITHMS: 'ES256',
        SIGIL_JWT_REQUIRED: 'false',
        SIGIL_JWT_TENANT_CLAIM: 'org_id',
        SIGIL_JWT_MAX_TOKEN_AGE: '1h',
      }),
    ).toEqual({
      jwks: { url: 'https://auth.example.org/jwks.json' },
      issuer: ['https://auth.example.org/'],
      audience: ['sigil', 'sigil-internal'],
      algorithms: ['ES256'],
      required: false,
      tenant: { claim: 'org_id' },
      maxTokenAgeSeconds: 3600,
    });
    expect(jwtOptionsFromEnv({ SIGIL_JWT_JWKS_FILE: '/etc/jwks.json' })).toEqual({
      jwks: { file: '/etc/jwks.json' },
    });
  });

  it('names the variable at fault', () => {
    expect(() =>
      jwtOptionsFromEnv({ SIGIL_JWT_JWKS_FILE: '/a', SIGIL_JWT_JWKS_URL: 'https://b' }),
    ).toThrow('set only one of SIGIL_JWT_JWKS_FILE and SIGIL_JWT_JWKS_URL');
    expect(() =>
      jwtOptionsFromEnv({ SIGIL_JWT_JWKS_FILE: '/a', SIGIL_JWT_REQUIRED: 'maybe' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_JWT_CONFIG_INVALID',
        message: 'SIGIL_JWT_REQUIRED: "maybe" is not a boolean (use true or false)',
        details: { variable: 'SIGIL_JWT_REQUIRED' },
      }),
    );
    expect(() =>
      jwtOptionsFromEnv({ SIGIL_JWT_JWKS_FILE: '/a', SIGIL_JWT_MAX_TOKEN_AGE: '3600' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_JWT_CONFIG_INVALID',
        message:
          'SIGIL_JWT_MAX_TOKEN_AGE="3600" is not a duration (use a number with a unit: 90s, 15m, 1h)',
      }),
    );
  });

  it('reads SIGIL_JWT_REQUIRED with the boolean grammar of every Sigil setting', () => {
    for (const [text, required] of [
      ['no', false],
      ['OFF', false],
      ['1', true],
    ] as const) {
      expect(jwtOptionsFromEnv({ SIGIL_JWT_JWKS_FILE: '/a', SIGIL_JWT_REQUIRED: text })).toEqual({
        jwks: { file: '/a' },
        required,
      });
    }
  });
});
