import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import { createPostgresStore } from '../src/store/postgres-store';
import { agentClients, failure } from './support/agents';
import { enrollNew, startController } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';

(postgresSkipped ? describe.skip : describe)(
  `two controller replicas on one PostgreSQL (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('applies a revocation made on one replica to the streams and renewals of the other', async () => {
      const schema = `sigil_replicas_${process.pid}_${randomBytes(4).toString('hex')}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'sigil-replicas-'));
      const a = await startController({
        dataDir,
        databaseUrl: POSTGRES_URL,
        postgresSchema: schema,
      });
      const connector = await enrollNew(a.controller, 'connector', 'replicated-1');
      // Replica B shares the CAs (DATA_DIR) and gets its store passed in.
      const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
      const b = await startController({ dataDir, store });
      const agents = agentClients(() => b);
      try {
        const stream = agents.open(connector.identity);
        await stream.next('approvedTunnelers');
        await a.controller.revokeAgent('connector', 'replicated-1', 'decommissioned');
        const revoked = await stream.next('revoked');
        expect(revoked.body.revoked.reason).toBe('decommissioned');
        await stream.until(() => stream.error !== undefined, 'stream ended');
        expect(stream.error!.code).toBe(grpc.status.PERMISSION_DENIED);
        expect((await failure(agents.renew(connector.identity))).code).toBe(
          grpc.status.PERMISSION_DENIED,
        );
        expect(b.controller.listConnectors()[0]!.status).toBe('REVOKED');
      } finally {
        agents.close();
        await b.cleanup();
        // A store passed in stays open: its owner closes it.
        expect(await store.schemaVersion()).toBeGreaterThanOrEqual(2);
        await store.close();
        await a.cleanup();
        rmSync(dataDir, { recursive: true, force: true });
        const db = new Client({ connectionString: POSTGRES_URL });
        await db.connect();
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await db.end();
      }
    }, 30_000);
  },
);
