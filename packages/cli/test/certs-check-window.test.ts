// `sigil certs check` with short-lived certificates: the warning starts at the later of "a third
// of the lifetime left" and the fixed window, and --warn-within sets the window as a duration.
import { join } from 'node:path';
import { sigil, temporaryDirectory } from './support';

const HOUR = 3_600_000;
const ISSUED = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(ISSUED.getTime() + ms);

describe('sigil certs check and short-lived certificates', () => {
  const tmp = temporaryDirectory('certs-check-window');
  const ca = join(tmp.dir, 'ca');
  const leaf = join(tmp.dir, 'leaf');
  const crt = join(leaf, 'tls.crt');
  afterAll(() => tmp.remove());

  beforeAll(async () => {
    const now = new Date(ISSUED.getTime() - 1000);
    expect(
      (await sigil(['ca', 'init', '--out', ca, '--trust-domain', 'example.org'], { now })).code,
    ).toBe(0);
    // The default 24 h lifetime, issued a second before ISSUED (and back-dated 60 s).
    const issued = await sigil(
      ['certs', 'issue', '--ca', ca, '--out', leaf, '--spiffe-id', 'spiffe://example.org/svc/api'],
      { now },
    );
    expect(issued.code).toBe(0);
  });

  const check = (args: string[], now: Date) => sigil(['certs', 'check', crt, ...args], { now });

  it('a 24 h certificate issued a second ago is fine by default (it used to exit 1)', async () => {
    const run = await check([], ISSUED);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 file: 1 ok, 0 expiring soon, 0 expired');
  });

  it('it warns once less than a third of its lifetime is left, saying so', async () => {
    expect((await check([], at(15 * HOUR))).code).toBe(0);
    const run = await check([], at(17 * HOUR));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('less than a third of its 1d lifetime left');
  });

  it('--warn-within sets the fixed window as a duration', async () => {
    // A 1 h window is later than the last third: it decides.
    expect((await check(['--warn-within', '1h'], at(17 * HOUR))).code).toBe(0);
    const late = await check(['--warn-within', '1h', '--json'], at(23 * HOUR + 30 * 60_000));
    expect(late.code).toBe(1);
    const result = JSON.parse(late.stdout);
    expect(result).toMatchObject({ warnWithinSeconds: 3600, summary: { warning: 1 } });
    expect(result.certificates[0]).toMatchObject({ status: 'warning', warnByLifetime: false });
    expect(result.certificates[0].message).toContain('within the 1h warning window');
    // A window longer than the last third: the third decides.
    expect((await check(['--warn-within', '12h'], at(15 * HOUR))).code).toBe(0);
  });

  it('refuses a bad --warn-within and --warn-within with --warn-days, naming the flags', async () => {
    const bad = await check(['--warn-within', 'soon'], ISSUED);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toBe(
      "error: --warn-within: 'soon' is not a duration (use a number with a unit: 90s, 15m, 1h) (ERR_USAGE)\n",
    );
    const both = await check(['--warn-within', '1h', '--warn-days', '3'], ISSUED);
    expect(both.code).toBe(64);
    expect(both.stderr).toContain('--warn-within');
    expect(both.stderr).toContain('--warn-days');
  });
});
