// The Prometheus rules of docs/alerts/prometheus-rules.yaml against the code and the manifests:
// every metric and label they use exists in @sigil/grpc-tls and @sigil/interceptors (registered
// for real), every runbook link lands on a heading of docs/troubleshooting.md, and the expiry
// thresholds fit the SVID lifetimes of the overlays.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServerCredentials, loadServerTlsConfig } from '@sigil/grpc-tls';
import { createServerInterceptors, loadAuthorizationPolicy } from '@sigil/interceptors';
import pino from 'pino';
import { Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { loadRendered } from './internal/rendered';
import { K8S_ROOT } from './internal/layout';
import { headingAnchors } from './internal/markdown';
import type { Loose } from './internal/loose';
import { parseGoDuration } from './internal/rules';

interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const DOCS = join(K8S_ROOT, '..', 'docs');
const groups = (
  parseYaml(readFileSync(join(DOCS, 'alerts', 'prometheus-rules.yaml'), 'utf8')) as {
    groups: { name: string; rules: AlertRule[] }[];
  }
).groups;
const alerts = groups.flatMap((g) => g.rules);
const alert = (name: string): AlertRule => alerts.find((a) => a.alert === name)!;

/** Labels a scrape adds to every series (Kubernetes service discovery relabelled as usual). */
const TARGET_LABELS = ['namespace', 'pod'];
/** cert-manager's metrics, which no code of ours registers. */
const CERT_MANAGER_LABELS: Record<string, string[]> = {
  certmanager_certificate_renewal_timestamp_seconds: [
    'namespace',
    'name',
    'issuer_name',
    'issuer_kind',
    'issuer_group',
  ],
  certmanager_certificate_ready_status: [
    'namespace',
    'name',
    'condition',
    'issuer_name',
    'issuer_kind',
    'issuer_group',
  ],
  certmanager_certificate_expiration_timestamp_seconds: [
    'namespace',
    'name',
    'issuer_name',
    'issuer_kind',
    'issuer_group',
  ],
};

/**
 * The controller's and agents' metrics (services/controller/test/lineage.test.ts and admin-api.test.ts,
 * e2e/control-plane/test/faults-state-dir.test.ts read them from live processes).
 */
const CONTROLLER_LABELS: Record<string, string[]> = {
  sigil_controller_stream_conflicts_total: ['kind'],
  sigil_controller_certificate_expiry_days: ['certificate'],
  sigil_controller_ca_next_rotation_timestamp_seconds: [],
  sigil_controller_store_up: ['dialect'],
  sigil_agent_identity_persisted: [],
};

let metricLabels: Map<string, string[]>;

beforeAll(async () => {
  const registry = new Registry();
  const logger = pino({ level: 'silent' });
  const tls = await createServerCredentials(
    loadServerTlsConfig({ env: { SIGIL_TLS_MODE: 'dev' } }),
    { registry, logger },
  );
  createServerInterceptors({ policy: loadAuthorizationPolicy({ rules: [] }), registry, logger });
  metricLabels = new Map(
    registry
      .getMetricsAsArray()
      .map((metric) => [
        metric.name as string,
        (metric as unknown as { labelNames: string[] }).labelNames,
      ]),
  );
  tls.close();
  for (const [name, labels] of Object.entries({ ...CERT_MANAGER_LABELS, ...CONTROLLER_LABELS }))
    metricLabels.set(name, labels);
});

test('the rules file is well formed and every alert is documented', () => {
  const documented = readFileSync(join(DOCS, 'alerts.md'), 'utf8');
  expect(groups.map((g) => g.name)).toEqual([
    'sigil-tls',
    'sigil-tls-long-lived-certificates',
    'sigil-controller',
  ]);
  expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
  for (const rule of alerts) {
    expect([rule.alert, rule.for]).toEqual([rule.alert, expect.stringMatching(/^\d+[smh]$/)]);
    expect([rule.alert, rule.labels.severity]).toEqual([
      rule.alert,
      expect.stringMatching(/^(warning|critical)$/),
    ]);
    expect([rule.alert, Object.keys(rule.annotations).sort()]).toEqual([
      rule.alert,
      ['description', 'runbook', 'summary'],
    ]);
    expect([rule.alert, documented.includes(`\`${rule.alert}\``)]).toEqual([rule.alert, true]);
  }
});

test('every runbook link lands on a heading of docs/troubleshooting.md', () => {
  const headings = headingAnchors(readFileSync(join(DOCS, 'troubleshooting.md'), 'utf8'));
  for (const rule of alerts) {
    const [file, anchor] = rule.annotations.runbook!.split('#');
    expect([rule.alert, file, headings.has(anchor!)]).toEqual([
      rule.alert,
      'docs/troubleshooting.md',
      true,
    ]);
  }
});

test('every metric and label an alert uses is registered by the code (or is cert-manager’s)', () => {
  expect([...metricLabels.keys()]).toEqual(
    expect.arrayContaining([
      'grpc_tls_handshake_errors_total',
      'grpc_tls_cert_expiry_days',
      'grpc_tls_rotations_total',
      'sigil_authz_denied_total',
    ]),
  );
  for (const rule of alerts) {
    const metrics = [
      ...rule.expr.matchAll(/\b(grpc_tls_\w+|grpc_server_\w+|sigil_\w+|certmanager_\w+)\b/g),
    ].map((m) => m[1]!);
    expect([rule.alert, metrics.length > 0]).toEqual([rule.alert, true]);
    for (const metric of metrics) {
      const labels = metricLabels.get(metric);
      expect([rule.alert, metric, labels !== undefined]).toEqual([rule.alert, metric, true]);
      for (const [, matchers] of rule.expr.matchAll(new RegExp(`${metric}\\{([^}]*)\\}`, 'g'))) {
        for (const [, label] of matchers!.matchAll(/(\w+)\s*=~?/g))
          expect([rule.alert, metric, label, labels!.includes(label!)]).toEqual([
            rule.alert,
            metric,
            label,
            true,
          ]);
      }
    }
    const known = new Set([...TARGET_LABELS, ...metrics.flatMap((m) => metricLabels.get(m) ?? [])]);
    for (const [, list] of rule.expr.matchAll(/\bby \(([^)]*)\)/g)) {
      for (const label of list!.split(',').map((l) => l.trim()))
        expect([rule.alert, label, known.has(label)]).toEqual([rule.alert, label, true]);
    }
  }
});

test('the expiry thresholds fit the SVID lifetimes of every overlay', () => {
  const svids = (dir: string): Loose[] =>
    loadRendered(dir).filter(
      (o) =>
        o.kind === 'Certificate' && o.metadata.labels?.['app.kubernetes.io/component'] === 'svid',
    );
  const threshold = (name: string): number =>
    Number(/<\s*([\d.]+)\s*$/.exec(alert(name).expr)![1]) * 86_400;

  // The last-resort alert never fires while renewal works: every renewBefore is longer.
  const imminent = threshold('SigilSvidExpiresImminently');
  for (const dir of ['base', 'overlays/dev', 'overlays/prod']) {
    for (const svid of svids(dir))
      expect([dir, svid.metadata.name, parseGoDuration(svid.spec.renewBefore) > imminent]).toEqual([
        dir,
        svid.metadata.name,
        true,
      ]);
  }

  // The long-lived alert fits prod: renewal is due at or before 15 days, so "under 15 days" means late.
  const longLived = threshold('GrpcTlsCertificateExpiringSoon');
  for (const svid of svids('overlays/prod')) {
    expect(parseGoDuration(svid.spec.renewBefore)).toBeGreaterThanOrEqual(longLived);
    expect(parseGoDuration(svid.spec.duration)).toBeGreaterThan(
      parseGoDuration(svid.spec.renewBefore),
    );
  }
  // ...and would fire permanently on the short-lived overlays, which is why it is a group of its own.
  for (const dir of ['base', 'overlays/dev'])
    for (const svid of svids(dir))
      expect(parseGoDuration(svid.spec.duration)).toBeLessThan(longLived);
});
