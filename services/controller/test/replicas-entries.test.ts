import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createPostgresStore } from '../src/store/postgres-store';
import { agentClients } from './support/agents';
import { ADMIN_TOKEN, enrollNew, startController } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';

const entries = (body: unknown, url: string, method = 'POST') =>
  fetch(`${url}/api/admin/entries${method === 'DELETE' ? `/${String(body)}` : ''}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });

(postgresSkipped ? describe.skip : describe)(
  `registration entries across replicas (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('an entry created and deleted on one replica reaches the connector streaming to the other', async () => {
      const schema = `sigil_entries_${process.pid}_${randomBytes(4).toString('hex')}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'sigil-replicas-'));
      const a = await startController({
        dataDir,
        databaseUrl: POSTGRES_URL,
        postgresSchema: schema,
      });
      const connector = await enrollNew(a.controller, 'connector', 'entries-1');
      const store = await createPostgresStore({ connectionString: POSTGRES_URL, schema });
      const b = await startController({ dataDir, store });
      const agents = agentClients(() => b);
      try {
        const stream = agents.open(connector.identity);
        const first = await stream.next('workloadEntries');
        expect(first.body.workloadEntries.entries).toEqual([]);
        const created = await entries(
          {
            spiffe_id: 'spiffe://test.sigil/workload/billing',
            parent_id: 'spiffe://test.sigil/connector/entries-1',
            selectors: ['unix:uid:1000'],
          },
          a.controller.adminUrl,
        );
        expect(created.status).toBe(201);
        const { id } = (await created.json()) as { id: string };
        const pushed = await stream.next('workloadEntries', stream.messages.indexOf(first) + 1);
        expect(pushed.body.workloadEntries.entries.map((e) => e.spiffeId)).toEqual([
          'spiffe://test.sigil/workload/billing',
        ]);
        expect((await entries(id, a.controller.adminUrl, 'DELETE')).status).toBe(200);
        const emptied = await stream.next('workloadEntries', stream.messages.indexOf(pushed) + 1);
        expect(emptied.body.workloadEntries.entries).toEqual([]);
      } finally {
        agents.close();
        await b.cleanup();
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
