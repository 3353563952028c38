// The runtime trust state is shared by replicas on one PostgreSQL: a step taken on one reaches the
// streams, the acknowledgements and the signing of the other.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateX509Svid } from '@sigil/pki';
import { waitFor } from '@sigil/testing';
import { agentClients } from './support/agents';
import { admin, enrollNew } from './support/fixtures';
import { POSTGRES_URL, postgresSkipped } from './support/postgres';
import { startReplicaPair } from './support/replicas';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

(postgresSkipped ? describe.skip : describe)(
  `runtime CA rotation on two replicas (${postgresSkipped ? 'SKIPPED because SIGIL_SKIP_POSTGRES=1' : POSTGRES_URL})`,
  () => {
    it('prepares on one replica, is acknowledged through the other, and the other signs with the new CA', async () => {
      const pair = await startReplicaPair('sigil_trust');
      const { a, b, dataDir } = pair;
      const agents = agentClients(() => b);
      try {
        const connector = await enrollNew(a.controller, 'connector', 'replicated-ca');
        const stream = agents.open(connector.identity);
        await stream.next('bundleUpdate');
        const seen = stream.messages.length;
        const prepared = await admin(a.controller, '/api/admin/ca/prepare', { method: 'POST' });
        expect(prepared.status).toBe(200);
        // B re-reads the store and pushes the new bundle down its stream.
        const update = await stream.next('bundleUpdate', seen);
        expect(update.body.bundleUpdate.version).toBe(2);
        expect(update.body.bundleUpdate.rootsPem).toBe(a.controller.trustBundlePem);
        stream.call.write({
          body: {
            $case: 'heartbeat',
            heartbeat: {
              sequence: 1,
              version: '1.0.0',
              privateIp: '',
              sentAt: 0,
              certificateNotAfter: 0,
              bundleVersion: 2,
            },
          },
        });
        await stream.next('heartbeatAck');
        // B records the reported version in the store after it answers the heartbeat (the write
        // is not on the heartbeat's path), so A sees the acknowledgement once that commit lands.
        const activation = await waitFor('A seeing the acknowledgement', async () => {
          const { json } = await admin(a.controller, '/api/admin/ca');
          const check = (json as Json).activation as Json;
          return check.allowed === true ? check : undefined;
        });
        expect(activation).toMatchObject({ allowed: true, basis: 'acknowledged' });
        expect(
          (await admin(a.controller, '/api/admin/ca/activate', { method: 'POST' })).status,
        ).toBe(200);
        await waitFor('replica B signing with generation 2', async () => {
          const { json } = await admin(b.controller, '/api/admin/ca');
          return (json as Json).generations.find((g: Json) => g.role === 'current').generation === 2
            ? true
            : undefined;
        });
        const renewed = await agents.renew(connector.identity);
        const oldRoot = readFileSync(join(dataDir, 'runtime-ca.crt'), 'utf8');
        expect(() => validateX509Svid(renewed.chainPem, oldRoot)).toThrow();
        expect(validateX509Svid(renewed.chainPem, b.controller.trustBundlePem).spiffeId).toBe(
          'spiffe://test.sigil/connector/replicated-ca',
        );
        stream.call.end();
      } finally {
        agents.close();
        await pair.close();
      }
    }, 30_000);
  },
);
