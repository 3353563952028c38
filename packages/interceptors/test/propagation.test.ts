// Claim propagation across two hops: client -> front (user-service role) -> back (identity-service role).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import {
  createJwtInterceptor,
  createServerInterceptors,
  createTokenForwardingInterceptor,
  getClaims,
  loadAuthorizationPolicy,
  runWithBearerToken,
} from '@sigil/interceptors';
import { createMemoryLogger, EchoClient, failure, startEchoServer, unary } from '@sigil/testing';
import type { Json, RunningEchoServer } from '@sigil/testing';
import { AUDIENCE, ISSUER, createTokenIssuer, bearer } from './helpers/jwt';
import type { TokenIssuer } from './helpers/jwt';
import { CLIENT_OPTIONS, createTestPki, TRUST_DOMAIN } from './helpers/tls';

const FRONT_ID = `spiffe://${TRUST_DOMAIN}/svc/user-service`;
const CLIENT_ID = `spiffe://${TRUST_DOMAIN}/svc/web`;

describe('bearer token propagation', () => {
  let issuer: TokenIssuer;
  let dir: string;
  let back: RunningEchoServer;
  let front: RunningEchoServer;
  let backClient: EchoClient;
  let frontClient: EchoClient;
  let backClientOutsideChain: EchoClient;

  beforeAll(async () => {
    const pki = await createTestPki();
    issuer = await createTokenIssuer();
    dir = mkdtempSync(join(tmpdir(), 'sigil-propagation-'));
    const jwks = { file: issuer.writeJwks(dir) };
    const logger = createMemoryLogger().logger;

    back = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: [
        createJwtInterceptor({
          jwks,
          issuer: ISSUER,
          audience: AUDIENCE,
          logger,
          registry: new Registry(),
        }),
      ],
      handlers: { echo: (call, callback) => callback(null, { sub: getClaims(call)?.sub ?? null }) },
    });
    const forwarding = { ...CLIENT_OPTIONS, interceptors: [createTokenForwardingInterceptor()] };
    backClient = new EchoClient(
      back.address,
      await pki.clientCredentials({ spiffeId: FRONT_ID }),
      forwarding,
    );
    backClientOutsideChain = new EchoClient(
      back.address,
      await pki.clientCredentials({ spiffeId: FRONT_ID }),
      forwarding,
    );

    front = await startEchoServer({
      credentials: pki.serverCredentials(),
      interceptors: createServerInterceptors({
        policy: loadAuthorizationPolicy({
          rules: [{ methods: ['sigil.test.v1.EchoService/*'], callers: [CLIENT_ID] }],
        }),
        jwt: { jwks, issuer: ISSUER, audience: AUDIENCE },
        logger,
        registry: new Registry(),
      }),
      handlers: {
        // An async handler that awaits before the onward call: the token must survive the await.
        echo: (call, callback) => {
          void (async () => {
            await nextTurn();
            const request = call.request as Json;
            const metadata = new grpc.Metadata();
            if (typeof request.override === 'string')
              metadata.set('authorization', `Bearer ${request.override}`);
            const reply = await unary(backClient, 'echo', {}, metadata);
            callback(null, { frontSub: getClaims(call)?.sub ?? null, backSub: reply.sub });
          })().catch((err: grpc.ServiceError) => callback(err));
        },
      },
    });
    frontClient = new EchoClient(
      front.address,
      await pki.clientCredentials({ spiffeId: CLIENT_ID }),
      CLIENT_OPTIONS,
    );
  });

  afterAll(async () => {
    [backClient, frontClient, backClientOutsideChain].forEach((c) => c.close());
    await Promise.all([front.close(), back.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('forwards the caller token from a handler to the next service automatically', async () => {
    const token = await issuer.sign({ sub: 'user-1' });
    await expect(unary(frontClient, 'echo', {}, bearer(token))).resolves.toEqual({
      frontSub: 'user-1',
      backSub: 'user-1',
    });
  });

  it('keeps concurrent requests apart', async () => {
    const subs = ['alice', 'bob', 'carol', 'dave'];
    const tokens = await Promise.all(subs.map((sub) => issuer.sign({ sub })));
    const replies = await Promise.all(
      tokens.map((token) => unary(frontClient, 'echo', {}, bearer(token))),
    );
    expect(replies.map((r) => r.backSub)).toEqual(subs);
  });

  it('does not overwrite an authorization the handler set itself', async () => {
    const own = await issuer.sign({ sub: 'service-account' });
    const reply = await unary(
      frontClient,
      'echo',
      { override: own },
      bearer(await issuer.sign({ sub: 'user-1' })),
    );
    expect(reply).toEqual({ frontSub: 'user-1', backSub: 'service-account' });
  });

  it('adds nothing outside a request context', async () => {
    const err = await failure(unary(backClientOutsideChain, 'echo'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('forwards the token given to runWithBearerToken', async () => {
    const token = await issuer.sign({ sub: 'job' });
    await expect(
      runWithBearerToken(token, () => unary(backClientOutsideChain, 'echo')),
    ).resolves.toEqual({ sub: 'job' });
  });
});
