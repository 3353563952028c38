// Clock skew at the controller: agent certificates back-dated by CERT_BACKDATE (5 minutes by
// default), and the skew an agent reports through sent_at measured at enrollment, shown in the
// admin API (clock_skew_ms), as sigil_controller_agent_clock_skew_seconds, and warned about
// once above CLOCK_SKEW_WARN.
import { X509Certificate } from 'node:crypto';
import {
  admin,
  enrollmentClient,
  enroll,
  startController,
  type ControllerFixture,
} from './support/fixtures';

jest.setTimeout(30_000);

async function enrollAt(fx: ControllerFixture, agentId: string, sentAt: number) {
  const { token } = await fx.controller.createEnrollmentToken({ kind: 'connector', id: agentId });
  const client = enrollmentClient(fx.controller.grpcAddress, fx.controller.bootstrapCaPem);
  try {
    return await enroll(client, { token, kind: 'connector', agentId, sentAt });
  } finally {
    client.close();
  }
}

function skewOf(listed: unknown, id: string): number | null | undefined {
  const rows = (
    Array.isArray(listed) ? listed : Object.values(listed as object).find(Array.isArray)
  ) as Array<{ id: string; clock_skew_ms?: number | null }>;
  return rows.find((r) => r.id === id)?.clock_skew_ms;
}

describe('clock skew at the controller', () => {
  let fx: ControllerFixture;
  afterEach(async () => {
    await fx.cleanup();
  });

  it('back-dates agent certificates by 5 minutes by default, and by CERT_BACKDATE when set', async () => {
    fx = await startController();
    const before = Date.now();
    const leaf = new X509Certificate((await enrollAt(fx, 'default-backdate', 0)).identity.chainPem);
    const notBefore = new Date(leaf.validFrom).getTime();
    expect(notBefore).toBeLessThanOrEqual(before - 299_000);
    expect(notBefore).toBeGreaterThan(before - 302_000);
    await fx.cleanup();

    fx = await startController({ certBackdateSeconds: 900 });
    const start = Date.now();
    const wide = new X509Certificate((await enrollAt(fx, 'wide-backdate', 0)).identity.chainPem);
    expect(new Date(wide.validFrom).getTime()).toBeLessThanOrEqual(start - 899_000);
    expect(new Date(wide.validFrom).getTime()).toBeGreaterThan(start - 902_000);
  });

  it('measures the skew an enrolling agent reports, shows it, counts it and warns once above the threshold', async () => {
    fx = await startController({ clockSkewWarnSeconds: 30 });
    await enrollAt(fx, 'behind', Date.now() - 120_000);
    await enrollAt(fx, 'on-time', Date.now());
    await enrollAt(fx, 'old-agent', 0);
    const listed = (await admin(fx.controller, '/api/admin/connectors')).json;
    const behind = skewOf(listed, 'behind')!;
    expect(behind).toBeLessThan(-119_000);
    expect(behind).toBeGreaterThan(-125_000);
    expect(Math.abs(skewOf(listed, 'on-time')!)).toBeLessThan(5_000);
    expect(skewOf(listed, 'old-agent')).toBeNull();

    const scrape = await (await fetch(`${fx.controller.adminUrl}/metrics`)).text();
    expect(scrape).toMatch(
      /sigil_controller_agent_clock_skew_seconds_count\{kind="connector"\} 2\n/,
    );
    expect(scrape).toMatch(
      /sigil_controller_agent_clock_skew_seconds_bucket\{le="60",kind="connector"\} 1\n/,
    );

    const warnings = fx.lines.filter((l) => l.includes('"event":"agent.clock_skew"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"agentId":"behind"');
    expect(warnings[0]).toMatch(/120 s behind the controller's/);
  });
});
