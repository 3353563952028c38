// The shipped alert rules, checked by Prometheus itself: `promtool check rules` on
// docs/alerts/prometheus-rules.yaml, and `promtool test rules` on its unit tests, which must make
// every alert fire once and stay silent once.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { K8S_ROOT } from './internal/layout';
import { describeWithTool, probePromtool } from './internal/tools';

const ALERTS = join(K8S_ROOT, '..', 'docs', 'alerts');
const RULES = join(ALERTS, 'prometheus-rules.yaml');
const TESTS = join(ALERTS, 'prometheus-rules.test.yaml');

interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const alertNames = (
  parseYaml(readFileSync(RULES, 'utf8')) as { groups: { rules: { alert: string }[] }[] }
).groups.flatMap((g) => g.rules.map((r) => r.alert));

test('the unit tests make every alert fire once and stay silent once', () => {
  const suite = parseYaml(readFileSync(TESTS, 'utf8')) as RuleTests;
  expect(suite.rule_files).toEqual(['prometheus-rules.yaml']);
  const cases = suite.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const alert of alertNames) {
    const own = cases.filter((c) => c.alertname === alert);
    expect([alert, own.some((c) => c.exp_alerts.length > 0)]).toEqual([alert, true]);
    expect([alert, own.some((c) => c.exp_alerts.length === 0)]).toEqual([alert, true]);
  }
  expect(new Set(cases.map((c) => c.alertname))).toEqual(new Set(alertNames));
});

describeWithTool(probePromtool(), 'Prometheus alert rules under promtool', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sigil-promtool-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** A copy of the rules and their tests with `edit` applied to the rules. */
  function brokenCopy(edit: (rules: string) => string): { rules: string; tests: string } {
    const dir = mkdtempSync(join(scratch, 'copy-'));
    const original = readFileSync(RULES, 'utf8');
    const changed = edit(original);
    expect(changed).not.toBe(original);
    writeFileSync(join(dir, 'prometheus-rules.yaml'), changed);
    copyFileSync(TESTS, join(dir, 'prometheus-rules.test.yaml'));
    return {
      rules: join(dir, 'prometheus-rules.yaml'),
      tests: join(dir, 'prometheus-rules.test.yaml'),
    };
  }

  test('promtool check rules accepts every rule', () => {
    const { status, output } = promtool('check', 'rules', RULES);
    expect([status, output]).toEqual([
      0,
      expect.stringContaining(`SUCCESS: ${alertNames.length} rules found`),
    ]);
  });

  test('promtool test rules passes the unit tests', () => {
    const { status, output } = promtool('test', 'rules', TESTS);
    expect([status, output]).toEqual([0, expect.stringContaining('SUCCESS')]);
  });

  test('a rule that does not parse fails the check', () => {
    const copy = brokenCopy((rules) =>
      rules.replace(
        '(rate(sigil_authz_denied_total[5m])) > 0',
        '(rate(sigil_authz_denied_total[5m]) > 0',
      ),
    );
    const { status, output } = promtool('check', 'rules', copy.rules);
    expect(status).not.toBe(0);
    expect(output).toContain('SigilAuthorizationDenials');
  });

  test('a changed threshold fails the unit tests', () => {
    const copy = brokenCopy((rules) =>
      rules.replace(
        '(rate(grpc_tls_handshake_errors_total[5m])) > 0.01',
        '(rate(grpc_tls_handshake_errors_total[5m])) > 0.001',
      ),
    );
    expect(promtool('check', 'rules', copy.rules).status).toBe(0);
    const { status, output } = promtool('test', 'rules', copy.tests);
    expect(status).not.toBe(0);
    expect(output).toContain('GrpcTlsHandshakeFailures');
  });
});
