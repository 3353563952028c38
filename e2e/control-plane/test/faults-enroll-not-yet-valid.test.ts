// An agent whose clock is behind the controller's by more than the tolerance (5 minutes) plus
// the back-dating: the certificate it receives is not valid yet by its own clock. It does not
// give up (which would waste the one-time token): it waits until the certificate becomes valid
// and sends the same request (same key) again, which the controller answers with the same
// certificate. The skew is made on the controller's side (its clock jumps 308 s ahead after it
// started, CERT_BACKDATE=0), so the controller's own TLS certificate stays valid for the agent.
import { waitFor } from '@sigil/testing';
import { startControlPlane, type ControlPlaneFixture } from './support/control-plane';
import { killAll, runAgent } from './support/processes';

jest.setTimeout(120_000);

describe('an agent that receives a certificate not valid yet by its clock', () => {
  let fx: ControlPlaneFixture;
  let aheadMs = 0;
  beforeAll(async () => {
    fx = await startControlPlane({
      clock: () => new Date(Date.now() + aheadMs),
      certBackdateSeconds: 0,
    });
  });
  afterAll(async () => {
    await killAll();
    await fx.cleanup();
  });

  it('waits for it and enrolls with the same key and the same certificate, the token not wasted', async () => {
    const env = await fx.enrollEnv('connector', 'behind');
    aheadMs = 308_000; // 8 s past what the agent tolerates
    const result = await runAgent('connector', ['enroll', '--json'], { ...env, LOG_LEVEL: 'info' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.at(-1)!)).toMatchObject({
      spiffe_id: 'spiffe://e2e.sigil/connector/behind',
    });
    const logged = result.stderr.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const waited = logged.find((r) => r.event === 'enroll.certificate_not_yet_valid');
    expect(waited).toMatchObject({ reason: expect.stringMatching(/check the clock/) });
    expect(waited.waitMs).toBeGreaterThan(0);
    expect(waited.waitMs).toBeLessThan(15_000);
    // One certificate: issued at the redemption, handed out again to the retry with the same key.
    await waitFor('the retry in the audit log', async () => {
      const records = await fx.controller.store.listAudit({ limit: 100 });
      return records.some((r) => r.action === 'enrollment.retried');
    });
    const records = await fx.controller.store.listAudit({ limit: 100 });
    const issued = records.filter((r) => r.action === 'enrollment.succeeded');
    const retried = records.filter((r) => r.action === 'enrollment.retried');
    expect(issued).toHaveLength(1);
    expect(retried[0]!.details.serial).toBe(issued[0]!.details.serial);
    expect(logged.find((r) => r.event === 'agent.enrolled')?.serial).toBe(
      issued[0]!.details.serial,
    );
  });
});
