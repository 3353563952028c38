// "Renew now" asked of one replica reaches the connector whose control stream another replica
// holds, with the command id the admin call answered; 409 when no replica holds a stream.
import { agentClients } from './support/agents';
import { admin, enrollNew } from './support/fixtures';
import type { StreamRecorder } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';
import { startReplicaPair } from './support/replicas';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

(postgresSkipped ? describe.skip : describe)(
  `agent commands across two replicas (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('delivers RenewNow asked of replica A on the stream replica B holds, and answers 409 when no replica holds one', async () => {
      const pair = await startReplicaPair('sigil_commands');
      const { a, b } = pair;
      const onB = agentClients(() => b);
      let stream: StreamRecorder | undefined;
      try {
        const connector = await enrollNew(a.controller, 'connector', 'far-edge');
        await enrollNew(a.controller, 'connector', 'idle-edge');
        stream = onB.open(connector.identity);
        await stream.next('approvedTunnelers');

        const started = Date.now();
        const asked = await admin(a.controller, '/api/admin/connectors/far-edge/renew', {
          method: 'POST',
        });
        const tookMs = Date.now() - started;
        expect(asked.status).toBe(202);
        const commandId = (asked.json as Json).command_id as string;
        expect(commandId).toMatch(/^[0-9a-f-]{36}$/);
        const renewNow = await stream.next('renewNow');
        expect(renewNow.commandId).toBe(commandId);
        // Delivered at the queueing's notification (or B's next 250 ms poll), well inside the 3 s wait.
        expect(tookMs).toBeLessThan(2000);
        const audit = await admin(a.controller, '/api/admin/audit?action=admin.renewal_requested');
        expect((audit.json as Json[])[0]).toMatchObject({
          outcome: 'success',
          details: {
            command_id: commandId,
            delivered_by: expect.stringContaining(`${process.pid}`),
          },
        });
        // Asked of B itself, it goes down the stream at once, as before.
        const direct = await admin(b.controller, '/api/admin/connectors/far-edge/renew', {
          method: 'POST',
        });
        expect(direct.status).toBe(202);
        expect(
          (await stream.next('renewNow', stream.messages.indexOf(renewNow) + 1)).commandId,
        ).toBe((direct.json as Json).command_id);

        // Enrolled, but no replica holds its stream: 409 after the wait, nothing left to deliver.
        const idle = await admin(a.controller, '/api/admin/connectors/idle-edge/renew', {
          method: 'POST',
        });
        expect(idle.status).toBe(409);
        expect(idle.json).toMatchObject({
          code: 'ERR_AGENT_NOT_CONNECTED',
          reason: expect.stringContaining('any controller replica'),
        });
        expect(await pair.storeB.openAgentCommands(Date.now())).toEqual([]);
        // Not enrolled anywhere: 404 at once.
        const unknown = await admin(a.controller, '/api/admin/connectors/nobody/renew', {
          method: 'POST',
        });
        expect(unknown.status).toBe(404);
      } finally {
        stream?.call.cancel();
        onB.close();
        await pair.close();
      }
    }, 40_000);
  },
);
