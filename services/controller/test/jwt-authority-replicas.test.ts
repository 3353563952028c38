// The JWT authority keys live in the store (sealed), shared by replicas on one PostgreSQL: a
// JWT-SVID minted on one replica verifies with the JWT bundle another replica serves, before and
// after a rotation taken on the first.
import { copyFileSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { agentClients } from './support/agents';
import { admin, enrollNew, unary } from './support/fixtures';
import type { StreamRecorder } from './support/fixtures';
import type { Identity } from './support/agents';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';
import { startReplicaPair } from './support/replicas';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Verifies `token` with the JWKS of a jwtBundle message (jose refuses `use: jwt-svid`, as validators drop it). */
const verifyWith = (jwksJson: string, token: string) =>
  jwtVerify(
    token,
    createLocalJWKSet({
      keys: (JSON.parse(jwksJson) as JSONWebKeySet).keys.map(({ use: _use, ...key }) => key),
    }),
    { audience: 'billing' },
  );

(postgresSkipped ? describe.skip : describe)(
  `JWT authority keys shared by two replicas (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('verifies a JWT-SVID minted on one replica with the JWT bundle the other serves, across a rotation', async () => {
      // B's DATA_DIR holds copies of the CA files and the sealing key only: no JWT key file.
      let dataDirB = '';
      const pair = await startReplicaPair('sigil_jwt_replicas', {
        dataDirB: (dataDir) => {
          dataDirB = mkdtempSync(join(tmpdir(), 'sigil-jwt-replicas-b-'));
          for (const file of readdirSync(dataDir).filter((f) => !f.startsWith('jwt-authority')))
            copyFileSync(join(dataDir, file), join(dataDirB, file));
          return dataDirB;
        },
      });
      const { a, b } = pair;
      expect(existsSync(join(dataDirB, 'jwt-authority.key'))).toBe(false);
      const onA = agentClients(() => a);
      const onB = agentClients(() => b);
      let stream: StreamRecorder | undefined;
      try {
        const connector = await enrollNew(a.controller, 'connector', 'jwt-edge');
        const entry = await admin(a.controller, '/api/admin/entries', {
          method: 'POST',
          body: {
            spiffe_id: 'spiffe://test.sigil/workload/web',
            parent_id: 'spiffe://test.sigil/connector/jwt-edge',
            selectors: ['unix:uid:1000'],
            x509_ttl_seconds: 3600,
            jwt_ttl_seconds: 300,
          },
        });
        expect(entry.status).toBe(201);
        const mintOnA = async (identity: Identity): Promise<string> => {
          const client = onA.clientFor(identity);
          const minted = await unary(client.mintJwtSvid.bind(client), {
            entryId: (entry.json as Json).id,
            audience: ['billing'],
          });
          return minted.token;
        };

        stream = onB.open(connector.identity);
        const first = await stream.next('jwtBundle');
        const token = await mintOnA(connector.identity);
        expect((await verifyWith(first.body.jwtBundle.jwksJson, token)).payload.sub).toBe(
          'spiffe://test.sigil/workload/web',
        );
        // Both replicas show the same keys and bundle version.
        expect((await admin(b.controller, '/api/admin/jwt-authority')).json).toEqual(
          (await admin(a.controller, '/api/admin/jwt-authority')).json,
        );

        // A rotation on A reaches B's stream at B's next refresh, and A's new key verifies there.
        const seen = stream.messages.length;
        const prepared = await admin(a.controller, '/api/admin/jwt-authority/prepare', {
          method: 'POST',
        });
        expect(prepared.status).toBe(200);
        const withNext = await stream.next('jwtBundle', seen);
        expect(withNext.body.jwtBundle.version).toBe((prepared.json as Json).bundle_version);
        expect((JSON.parse(withNext.body.jwtBundle.jwksJson) as JSONWebKeySet).keys).toHaveLength(
          2,
        );
        expect(
          (await admin(a.controller, '/api/admin/jwt-authority/activate', { method: 'POST' }))
            .status,
        ).toBe(200);
        const rotated = await mintOnA(connector.identity);
        const nextKid = (prepared.json as Json).keys.find((k: Json) => k.role === 'next').kid;
        expect(decodeProtectedHeader(rotated).kid).toBe(nextKid);
        await expect(verifyWith(withNext.body.jwtBundle.jwksJson, rotated)).resolves.toBeDefined();
        await expect(verifyWith(withNext.body.jwtBundle.jwksJson, token)).resolves.toBeDefined();
        // B signs with the key A activated once it refreshed.
        const activatedVersion = withNext.body.jwtBundle.version + 1;
        await stream.until(
          () =>
            stream!.messages.some(
              (m) => m.body?.$case === 'jwtBundle' && m.body.jwtBundle.version === activatedVersion,
            ),
          'the activated JWT bundle on B',
        );
        const status = (await admin(b.controller, '/api/admin/jwt-authority')).json as Json;
        expect(status.keys.find((k: Json) => k.role === 'current').kid).toBe(nextKid);
      } finally {
        stream?.call.cancel();
        onA.close();
        onB.close();
        await pair.close();
      }
    }, 40_000);
  },
);
