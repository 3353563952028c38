// JWT-SVID verification configured from the environment alone (SIGIL_JWT_WORKLOAD_API), against
// a real Workload API server on a unix socket: the server of @sigil/workload-api, attesting this
// process by SO_PEERCRED, its identities signed by a real CA and JWT key standing in for the
// controller.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createJwtInterceptor, jwtOptionsFromEnv } from '@sigil/interceptors';
import type { JwtInterceptorOptions } from '@sigil/interceptors';
import { createCertificateAuthority } from '@sigil/pki';
import { EchoClient, startEchoServer, unary } from '@sigil/testing';
import type { RunningEchoServer } from '@sigil/testing';
import {
  createWorkloadApiClient,
  createWorkloadApiServer,
  createWorkloadIdentities,
  parseWorkloadApiEndpoint,
  type WorkloadApiServer,
  type WorkloadIdentities,
} from '@sigil/workload-api';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { bearer } from './helpers/jwt';

const TRUST_DOMAIN = 'example.org';
const CALLER = `spiffe://${TRUST_DOMAIN}/svc/caller`;

describe('SIGIL_JWT_WORKLOAD_API: JWT-SVIDs verified against a Workload API, from the environment', () => {
  let dir: string;
  let socket: string;
  let identities: WorkloadIdentities;
  let api: WorkloadApiServer;
  let server: RunningEchoServer;
  let echo: EchoClient;
  let options: JwtInterceptorOptions;
  let sign: (claims: { sub: string; aud: string }) => Promise<string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-jwt-wl-'));
    socket = join(dir, 'workload-api.sock');
    const ca = await createCertificateAuthority({ trustDomain: TRUST_DOMAIN });
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    sign = ({ sub, aud }) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'jwt-1', typ: 'JWT' })
        .setSubject(sub)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(privateKey);
    identities = createWorkloadIdentities({
      trustDomain: TRUST_DOMAIN,
      trustBundlePem: () => ca.bundlePem,
      signCsr: async (_entryId, csrPem) => ({
        certificateChainPem: (
          await ca.signCsr(csrPem, { spiffeId: CALLER, ttlSeconds: 600, profile: 'svid' })
        ).chainPem,
      }),
      mintJwtSvid: async (_entryId, audience) => ({
        spiffeId: CALLER,
        token: await sign({ sub: CALLER, aud: audience[0]! }),
        expiresAt: Date.now() + 300_000,
      }),
    });
    identities.setEntries([
      {
        id: 'caller',
        spiffeId: CALLER,
        selectors: [`unix:uid:${process.getuid!()}`],
        x509TtlSeconds: 600,
        jwtTtlSeconds: 300,
      },
    ]);
    identities.setJwtBundle(
      JSON.stringify({
        keys: [{ ...(await exportJWK(publicKey)), kid: 'jwt-1', use: 'jwt-svid' }],
      }),
    );
    await identities.ready(['caller']);
    api = await createWorkloadApiServer({ socketPath: socket, identities });
    options = jwtOptionsFromEnv({
      SIGIL_JWT_WORKLOAD_API: `unix://${socket}`,
      SIGIL_JWT_AUDIENCE: 'billing',
    })!;
    server = await startEchoServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      interceptors: [createJwtInterceptor(options)],
    });
    echo = new EchoClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    echo?.close();
    await server?.close();
    if (options !== undefined && 'workloadApi' in options.jwks) options.jwks.workloadApi.close();
    await api?.close();
    identities?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a Workload API key source with the audience', () => {
    expect(options).toMatchObject({
      jwks: { workloadApi: expect.any(Object) },
      audience: ['billing'],
    });
  });

  it('accepts a JWT-SVID the Workload API minted for the audience, refuses one for another', async () => {
    const client = createWorkloadApiClient({
      endpoint: parseWorkloadApiEndpoint(`unix://${socket}`),
    });
    try {
      const [billing] = await client.fetchJwtSvids(['billing']);
      const [other] = await client.fetchJwtSvids(['other']);
      await expect(unary(echo, 'echo', { text: 'hi' }, bearer(billing!.svid))).resolves.toEqual({
        text: 'hi',
      });
      await expect(unary(echo, 'echo', { text: 'hi' }, bearer(other!.svid))).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
    } finally {
      client.close();
    }
  });

  it('refuses, as UNAUTHENTICATED, a token of a trust domain the Workload API has no bundle for', async () => {
    const foreign = await sign({ sub: 'spiffe://elsewhere.org/svc/x', aud: 'billing' });
    await expect(unary(echo, 'echo', { text: 'hi' }, bearer(foreign))).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: expect.stringContaining('no JWT bundle for trust domain elsewhere.org'),
    });
  });

  it('names the variable at fault', () => {
    expect(() => jwtOptionsFromEnv({ SIGIL_JWT_WORKLOAD_API: `unix://${socket}` })).toThrow(
      expect.objectContaining({
        code: 'ERR_JWT_CONFIG_INVALID',
        message:
          'SIGIL_JWT_WORKLOAD_API needs SIGIL_JWT_AUDIENCE: a JWT-SVID is valid only for the audience it names',
      }),
    );
    expect(() =>
      jwtOptionsFromEnv({
        SIGIL_JWT_WORKLOAD_API: `unix://${socket}`,
        SIGIL_JWT_JWKS_FILE: '/etc/jwks.json',
        SIGIL_JWT_AUDIENCE: 'billing',
      }),
    ).toThrow('set only one of SIGIL_JWT_JWKS_FILE and SIGIL_JWT_WORKLOAD_API');
    expect(() =>
      jwtOptionsFromEnv({ SIGIL_JWT_WORKLOAD_API: 'http://x', SIGIL_JWT_AUDIENCE: 'billing' }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_JWT_CONFIG_INVALID',
        message: expect.stringContaining('SIGIL_JWT_WORKLOAD_API=http://x is invalid'),
        details: { variable: 'SIGIL_JWT_WORKLOAD_API', value: 'http://x' },
      }),
    );
  });
});
