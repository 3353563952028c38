import { agentClients } from './support/agents';
import { admin, enrollNew } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';
import { startReplicaPair } from './support/replicas';

(postgresSkipped ? describe.skip : describe)(
  `registration entries across replicas (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('an entry created and deleted on one replica reaches the connector streaming to the other', async () => {
      const pair = await startReplicaPair('sigil_entries');
      const { a, b } = pair;
      const agents = agentClients(() => b);
      try {
        const connector = await enrollNew(a.controller, 'connector', 'entries-1');
        const stream = agents.open(connector.identity);
        const first = await stream.next('workloadEntries');
        expect(first.body.workloadEntries.entries).toEqual([]);
        const created = await admin(a.controller, '/api/admin/entries', {
          method: 'POST',
          body: {
            spiffe_id: 'spiffe://test.sigil/workload/billing',
            parent_id: 'spiffe://test.sigil/connector/entries-1',
            selectors: ['unix:uid:1000'],
          },
        });
        expect(created.status).toBe(201);
        const { id } = created.json as { id: string };
        const pushed = await stream.next('workloadEntries', stream.messages.indexOf(first) + 1);
        expect(pushed.body.workloadEntries.entries.map((e) => e.spiffeId)).toEqual([
          'spiffe://test.sigil/workload/billing',
        ]);
        expect(
          (await admin(a.controller, `/api/admin/entries/${id}`, { method: 'DELETE' })).status,
        ).toBe(200);
        const emptied = await stream.next('workloadEntries', stream.messages.indexOf(pushed) + 1);
        expect(emptied.body.workloadEntries.entries).toEqual([]);
      } finally {
        agents.close();
        await pair.close();
      }
    }, 30_000);
  },
);
