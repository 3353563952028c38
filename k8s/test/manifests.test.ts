// Reads the committed kubectl-kustomize render of every kustomization of k8s/ (k8s/rendered/),
// validates each object against its Kubernetes or cert-manager schema, and runs Sigil's rules on
// every deployable render.
import { evaluatePolicy, loadAuthorizationPolicy } from '@sigil/interceptors';
import { parse as parseYaml } from 'yaml';
import { grpcMethodPaths } from './internal/grpc-methods';
import { describeObject } from './internal/kinds';
import type { KubernetesObject } from './internal/kinds';
import { loadRendered } from './internal/rendered';
import { KUSTOMIZATIONS, findKustomizations } from './internal/layout';
import { checkManifests, parseGoDuration } from './internal/rules';
import { validateSchemas } from './internal/schema';
import type { Loose } from './internal/loose';

const grpcMethods = grpcMethodPaths();
const find = (objects: readonly KubernetesObject[], kind: string, name: string): Loose => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name}`);
  return found;
};
const SERVICES = ['identity-service', 'user-service', 'content-service'] as const;

test('every kustomization under k8s/ is rendered and checked here', () => {
  expect(findKustomizations()).toEqual(KUSTOMIZATIONS.map((k) => k.dir).sort());
});

test('the gRPC method list comes from @sigil/proto', () => {
  expect(grpcMethods).toEqual(
    expect.arrayContaining([
      '/sigil.identity.v1.IdentityService/ValidateToken',
      '/sigil.content.v1.ContentService/WatchPosts',
    ]),
  );
});

describe.each(KUSTOMIZATIONS)('$dir', ({ dir, profile }) => {
  const objects = loadRendered(dir);

  test('renders objects with unique identities', () => {
    expect(objects.length).toBeGreaterThan(0);
    const ids = objects.map((o) => `${o.apiVersion} ${describeObject(o)}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('every object matches its Kubernetes or cert-manager schema', () => {
    expect(validateSchemas(objects)).toEqual([]);
  });

  if (profile !== undefined) {
    test(`passes Sigil's ${profile} rules`, () => {
      expect(checkManifests(objects, { profile, grpcMethods })).toEqual([]);
    });
  }
});

describe('overlays', () => {
  const dev = loadRendered('overlays/dev');
  const prod = loadRendered('overlays/prod');

  test.each([
    ['dev', dev, 'sigil.example', 1, '1h'],
    ['prod', prod, 'prod.sigil.example', 3, '720h'],
  ])(
    '%s: trust domain, replicas and SVID lifetime',
    (_name, objects, trustDomain, replicas, duration) => {
      for (const service of SERVICES) {
        expect(find(objects, 'Deployment', service).spec.replicas).toBe(replicas);
        const certificate = find(objects, 'Certificate', service);
        expect(certificate.spec.uris).toEqual([`spiffe://${trustDomain}/svc/${service}`]);
        expect(certificate.spec.duration).toBe(duration);
        expect(parseGoDuration(certificate.spec.renewBefore)).toBeLessThan(
          parseGoDuration(duration),
        );
      }
      expect(find(objects, 'Certificate', 'api-gateway').spec.uris).toEqual([
        `spiffe://${trustDomain}/svc/api-gateway`,
      ]);
    },
  );

  test.each([
    ['dev', dev, 'sigil.example'],
    ['prod', prod, 'prod.sigil.example'],
  ])(
    '%s: each authorization policy admits exactly the expected caller (evaluated by @sigil/interceptors)',
    (_name, objects, td) => {
      const callers = {
        'identity-service': 'user-service',
        'user-service': 'content-service',
        'content-service': 'api-gateway',
      } as const;
      const methods = {
        'identity-service': '/sigil.identity.v1.IdentityService/ValidateToken',
        'user-service': '/sigil.user.v1.UserService/GetUser',
        'content-service': '/sigil.content.v1.ContentService/GetPost',
      } as const;
      for (const service of SERVICES) {
        const volume = find(objects, 'Deployment', service).spec.template.spec.volumes.find(
          (v: { name: string }) => v.name === 'authz-policy',
        );
        const configMap = find(objects, 'ConfigMap', volume.configMap.name);
        const policy = loadAuthorizationPolicy(parseYaml(configMap.data['policy.yaml']), {
          source: service,
        });
        for (const caller of [
          'identity-service',
          'user-service',
          'content-service',
          'api-gateway',
        ]) {
          const decision = evaluatePolicy(policy, {
            spiffeId: `spiffe://${td}/svc/${caller}`,
            method: methods[service],
          });
          expect([caller, decision.allowed]).toEqual([caller, caller === callers[service]]);
        }
        // The other environment's identity is a stranger.
        const other = td === 'sigil.example' ? 'prod.sigil.example' : 'sigil.example';
        expect(
          evaluatePolicy(policy, {
            spiffeId: `spiffe://${other}/svc/${callers[service]}`,
            method: methods[service],
          }).allowed,
        ).toBe(false);
        // Health stays open for the kubelet-less, certificate-less world of probes and debugging.
        expect(evaluatePolicy(policy, { method: '/grpc.health.v1.Health/Check' }).allowed).toBe(
          true,
        );
      }
    },
  );

  test('prod keeps two of three replicas through disruptions and spreads them', () => {
    for (const service of SERVICES) {
      expect(find(prod, 'PodDisruptionBudget', service).spec).toEqual({
        minAvailable: 2,
        selector: { matchLabels: { 'app.kubernetes.io/name': service } },
      });
      const spread = find(prod, 'Deployment', service).spec.template.spec.topologySpreadConstraints;
      expect(spread.map((c: { topologyKey: string }) => c.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
      expect(find(prod, 'Deployment', service).spec.template.spec.containers[0].image).toBe(
        `sigil/${service}:0.1.0`,
      );
    }
    expect(dev.some((o) => o.kind === 'PodDisruptionBudget')).toBe(false);
  });

  test('the CA stays in the cert-manager namespace, the workloads in sigil', () => {
    for (const objects of [dev, prod]) {
      expect(find(objects, 'Certificate', 'sigil-root-ca').metadata.namespace).toBe('cert-manager');
      expect(find(objects, 'ClusterIssuer', 'sigil-ca').metadata.namespace).toBeUndefined();
      for (const service of SERVICES)
        expect(find(objects, 'Deployment', service).metadata.namespace).toBe('sigil');
    }
  });
});

describe('control plane', () => {
  const renders = {
    base: loadRendered('control-plane'),
    dev: loadRendered('overlays/control-plane-dev'),
    prod: loadRendered('overlays/control-plane-prod'),
  };
  const tunneler = loadRendered('tunneler');
  const controller = (objects: readonly KubernetesObject[]): Loose =>
    find(objects, 'Deployment', 'sigil-controller');
  const env = (workload: Loose, name: string): Loose =>
    workload.spec.template.spec.containers[0].env.find((e: Loose) => e.name === name);

  test.each(Object.entries(renders))(
    '%s: several controllers on PostgreSQL from a Secret, a PDB, anti-affinity and health probes',
    (_name, objects) => {
      const deployment = controller(objects);
      expect(deployment.spec.replicas).toBeGreaterThan(1);
      expect(env(deployment, 'DATABASE_URL')).toEqual({
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'sigil-controller-database', key: 'url' } },
      });
      const pdb = find(objects, 'PodDisruptionBudget', 'sigil-controller').spec;
      expect(pdb.minAvailable).toBeGreaterThanOrEqual(1);
      expect(pdb.minAvailable).toBeLessThan(deployment.spec.replicas);
      expect(
        deployment.spec.template.spec.affinity.podAntiAffinity
          .requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
      ).toBe('kubernetes.io/hostname');
      const container = deployment.spec.template.spec.containers[0];
      expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual(
        ['/healthz', '/readyz'],
      );
      expect(objects.some((o) => o.kind === 'StatefulSet')).toBe(false);
    },
  );

  test.each(Object.entries(renders))(
    '%s: the admin API serves HTTPS, and its probes and scrape annotation say so',
    (_name, objects) => {
      const deployment = controller(objects);
      expect(env(deployment, 'ADMIN_TLS')).toEqual({ name: 'ADMIN_TLS', value: 'on' });
      const container = deployment.spec.template.spec.containers[0];
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(container[probe].httpGet).toMatchObject({ port: 'admin', scheme: 'HTTPS' });
      expect(deployment.spec.template.metadata.annotations['prometheus.io/scheme']).toBe('https');
    },
  );

  test.each(Object.entries(renders))(
    '%s: every replica gets the same CA files and key-sealing key from the Secret',
    (_name, objects) => {
      const init = controller(objects).spec.template.spec.initContainers[0];
      const script = init.command.join(' ');
      expect(script).toContain('for name in bootstrap-ca runtime-ca; do');
      expect(script).toContain(
        'install -m 0600 /etc/sigil/ca/ca-key-sealing.key /var/lib/sigil/data/ca-key-sealing.key',
      );
    },
  );

  test.each(Object.entries(renders))(
    '%s: the admin port only from admin namespaces and Prometheus; egress to PostgreSQL only',
    (_name, objects) => {
      const policies: Loose[] = objects.filter(
        (o) =>
          o.kind === 'NetworkPolicy' &&
          (o as Loose).spec.podSelector.matchLabels?.['app.kubernetes.io/name'] ===
            'sigil-controller',
      );
      const adminPeers = policies.flatMap((p) =>
        (p.spec.ingress ?? [])
          .filter((rule: Loose) => (rule.ports ?? []).some((port: Loose) => port.port === 8080))
          .flatMap((rule: Loose) => rule.from),
      );
      expect(adminPeers).toEqual([
        { namespaceSelector: { matchLabels: { 'sigil.dev/admin': 'true' } } },
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        },
      ]);
      // No ingress rule without ports, and none opening 8080 from anywhere.
      for (const rule of policies.flatMap((p) => p.spec.ingress ?? [])) {
        expect(rule.ports?.length).toBeGreaterThan(0);
        if (rule.from === undefined)
          expect(rule.ports).not.toContainEqual(expect.objectContaining({ port: 8080 }));
      }
      const egress = policies.flatMap((p) => p.spec.egress ?? []);
      expect(egress).toEqual([
        {
          to: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': 'sigil-database' },
              },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
      ]);
      // The agents' Service carries the gRPC port only, never the admin API.
      expect(
        find(objects, 'Service', 'sigil-controller-agents').spec.ports.map((p: Loose) => p.port),
      ).toEqual([8443]);
    },
  );

  test('tunnelers reach the controller: their namespace and labels match its policy, and they may go out to it', () => {
    const namespace = find(tunneler, 'Namespace', 'sigil-tunnelers');
    const tunnelerPeer = find(renders.base, 'NetworkPolicy', 'sigil-controller').spec.ingress[0]
      .from[1];
    expect(
      Object.entries(tunnelerPeer.namespaceSelector.matchLabels).every(
        ([k, v]) => namespace.metadata.labels[k] === v,
      ),
    ).toBe(true);
    const pod = find(tunneler, 'Deployment', 'sigil-tunneler').spec.template;
    expect(pod.metadata.labels).toMatchObject(tunnelerPeer.podSelector.matchLabels);
    const initEnv = pod.spec.initContainers[0].env;
    expect(initEnv).toContainEqual({
      name: 'CONTROLLER_ADDR',
      value: 'sigil-controller-agents.sigil-system.svc.cluster.local:8443',
    });
    // The controller's certificate names the Service the tunneler dials.
    expect(env(controller(renders.base), 'CONTROLLER_SERVER_NAMES').value.split(',')).toContain(
      'sigil-controller-agents.sigil-system.svc.cluster.local',
    );
    const egress = find(tunneler, 'NetworkPolicy', 'sigil-tunneler').spec.egress;
    expect(egress.map((rule: Loose) => rule.ports[0].port)).toEqual([8443, 9443]);
  });

  test('dev runs the dev images and the example tunneler; prod pins 0.1.0, three controllers keeping two, LoadBalancers', () => {
    expect(controller(renders.dev).spec.template.spec.containers[0].image).toBe(
      'sigil/controller:dev',
    );
    expect(
      find(renders.dev, 'Deployment', 'sigil-tunneler').spec.template.spec.containers[0].image,
    ).toBe('sigil/tunneler:dev');
    const prod = controller(renders.prod);
    expect(prod.spec.replicas).toBe(3);
    expect(find(renders.prod, 'PodDisruptionBudget', 'sigil-controller').spec.minAvailable).toBe(2);
    for (const container of [
      ...prod.spec.template.spec.initContainers,
      ...prod.spec.template.spec.containers,
    ])
      expect(container.image).toBe('sigil/controller:0.1.0');
    expect(env(prod, 'TRUST_DOMAIN').value).toBe('prod.sigil.example');
    expect(find(renders.prod, 'Service', 'sigil-controller-agents').spec.type).toBe('LoadBalancer');
    expect(find(renders.prod, 'Service', 'sigil-connector').spec.type).toBe('LoadBalancer');
    expect(find(renders.prod, 'Service', 'sigil-controller').spec.type).toBe('ClusterIP');
  });
});
