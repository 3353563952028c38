import * as grpc from '@grpc/grpc-js';
import { createCertificateSigningRequest, generateKeyPair } from '@sigil/pki';
import { agentClients, failure } from './support/agents';
import { enrollNew, startController, testClock, unary } from './support/fixtures';
import type { ControllerFixture } from './support/fixtures';

describe('renewal lineage: only the latest certificate the controller issued renews', () => {
  const clock = testClock();
  let fx: ControllerFixture;
  const agents = agentClients(() => fx);

  beforeAll(async () => {
    fx = await startController({ clock: clock.now, connectorCertTtlSeconds: 300 });
  });
  afterAll(async () => {
    agents.close();
    await fx.cleanup();
  });

  const refusals = async (reason: string) =>
    (await fx.controller.store.listAudit({ limit: 1000, action: 'renewal.refused' })).filter(
      (r) => r.details.reason === reason,
    );

  it('refuses a copied identity once the real agent renewed and used its new certificate, and audits it', async () => {
    const real = await enrollNew(fx.controller, 'connector', 'copied-1');
    const copy = { ...real.identity };
    const renewed = await agents.renew(real.identity);
    await agents.call(renewed);

    const err = await failure(agents.renew(copy));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/not the latest/);
    expect(await refusals('certificate_superseded')).toEqual([
      expect.objectContaining({ actor: 'spiffe://test.sigil/connector/copied-1' }),
    ]);
    // The copy cannot open a control stream either; the real agent still renews.
    const stream = agents.open(copy);
    await stream.until(() => stream.error !== undefined, 'stream refusal');
    expect(stream.error!.code).toBe(grpc.status.UNAUTHENTICATED);
    await expect(agents.renew(renewed)).resolves.toBeDefined();
  });

  it('lets a lost renewal be retried from the previous certificate inside the overlap, never after it', async () => {
    const agent = await enrollNew(fx.controller, 'connector', 'retrying-1');
    // The first response is "lost": the agent never uses it and renews again from its old certificate.
    await agents.renew(agent.identity);
    const retried = await agents.renew(agent.identity);
    expect(
      (await fx.controller.store.listAudit({ limit: 1, action: 'renewal.succeeded' }))[0]!.details,
    ).toMatchObject({ retried_from_previous: true });
    await agents.renew(agent.identity);
    clock.advance(61_000);
    expect((await failure(agents.renew(agent.identity))).code).toBe(grpc.status.UNAUTHENTICATED);
    // The retried certificate was superseded by the third renewal as well.
    expect((await failure(agents.renew(retried))).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('refuses every certificate of the lineage the operator superseded by re-enrolling', async () => {
    const first = await enrollNew(fx.controller, 'connector', 'reenrolled-1');
    const renewed = await agents.renew(first.identity);
    const second = await enrollNew(fx.controller, 'connector', 'reenrolled-1');
    for (const old of [first.identity, renewed])
      expect((await failure(agents.renew(old))).code).toBe(grpc.status.UNAUTHENTICATED);
    await expect(agents.renew(second.identity)).resolves.toBeDefined();
  });

  it('rate-limits renewals per agent: of 300 in a burst most are refused with RESOURCE_EXHAUSTED', async () => {
    const agent = await enrollNew(fx.controller, 'connector', 'flood-1');
    const client = agents.clientFor(agent.identity);
    const csrPem = await createCertificateSigningRequest(await generateKeyPair('ec-p256'));
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, () => unary(client.renew.bind(client), { csrPem }, 30_000)),
    );
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'ok' : (r.reason as grpc.ServiceError).code,
    );
    const exhausted = codes.filter((c) => c === grpc.status.RESOURCE_EXHAUSTED).length;
    expect(exhausted).toBeGreaterThanOrEqual(280);
    expect(codes.filter((c) => c === 'ok').length).toBeLessThanOrEqual(10);
    const limited = await refusals('rate_limited');
    expect(limited.length).toBe(exhausted);
    expect(
      await fx.controller.metrics.getSingleMetricAsString('sigil_controller_refusals_total'),
    ).toMatch(/reason="rate_limited"} [1-9]/);
  }, 60_000);

  it('audits and counts two live streams competing for one identity', async () => {
    const agent = await enrollNew(fx.controller, 'connector', 'twins-1');
    const first = agents.open(agent.identity);
    await first.next('approvedTunnelers');
    const second = agents.open(agent.identity);
    await second.next('approvedTunnelers');
    await first.next('drain');
    const conflicts = await fx.controller.store.listAudit({
      limit: 10,
      action: 'controlplane.stream_conflict',
    });
    expect(conflicts).toEqual([
      expect.objectContaining({ subject: 'spiffe://test.sigil/connector/twins-1' }),
    ]);
    expect(
      await fx.controller.metrics.getSingleMetricAsString(
        'sigil_controller_stream_conflicts_total',
      ),
    ).toMatch(/kind="connector"} 1/);
    second.call.end();
    await second.until(() => second.status !== undefined, 'stream end');
  });
});
