// Sigil's manifest rules must catch what they claim to: each case breaks one thing in a copy of
// a real render and expects the rule (and message) that names it.
import { stringify } from 'yaml';
import { grpcMethodPaths } from './internal/grpc-methods';
import type { KubernetesObject } from './internal/kinds';
import { loadRendered } from './internal/rendered';
import { checkManifests, parseGoDuration, parseQuantity } from './internal/rules';
import type { RuleId, RuleOptions } from './internal/rules';
import type { Loose } from './internal/loose';

const grpcMethods = grpcMethodPaths();
const renders = {
  dev: loadRendered('overlays/dev'),
  prod: loadRendered('overlays/prod'),
  'control-plane': loadRendered('control-plane'),
  tunneler: loadRendered('tunneler'),
};

function get(objects: KubernetesObject[], kind: string, name: string): Loose {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      (o.metadata.name === name ||
        (kind === 'ConfigMap' && o.metadata.name.startsWith(`${name}-`))),
  );
  if (found === undefined) throw new Error(`fixture has no ${kind}/${name}`);
  return found;
}
const container = (objects: KubernetesObject[], name: string): Loose =>
  get(objects, 'Deployment', name).spec.template.spec.containers[0];
const podSpec = (objects: KubernetesObject[], name: string): Loose =>
  get(objects, 'Deployment', name).spec.template.spec;
const env = (objects: KubernetesObject[], name: string, variable: string): Loose =>
  container(objects, name).env.find((e: Loose) => e.name === variable);
const setPolicy = (objects: KubernetesObject[], service: string, policy: unknown): void => {
  get(objects, 'ConfigMap', `${service}-authz-policy`).data['policy.yaml'] = stringify(policy);
};

interface Case {
  name: string;
  render?: keyof typeof renders;
  breakIt: (objects: KubernetesObject[]) => void;
  rule: RuleId;
  message: string;
}

const cases: Case[] = [
  // The TLS Secret mount.
  {
    name: 'TLS Secret mounted read-write',
    breakIt: (o) => (container(o, 'identity-service').volumeMounts[0].readOnly = false),
    rule: 'tls-mount',
    message: 'must be mounted readOnly',
  },
  {
    name: 'TLS Secret mounted by subPath',
    breakIt: (o) => (container(o, 'user-service').volumeMounts[0].subPath = 'tls.crt'),
    rule: 'tls-mount',
    message: 'subPath',
  },
  {
    name: 'world-readable key',
    breakIt: (o) => (podSpec(o, 'identity-service').volumes[0].secret.defaultMode = 0o444),
    rule: 'tls-mount',
    message: 'defaultMode 444',
  },
  {
    name: 'no fsGroup for the non-root user',
    breakIt: (o) => delete podSpec(o, 'content-service').securityContext.fsGroup,
    rule: 'tls-mount',
    message: 'cannot read the root-owned key',
  },
  {
    name: 'owner-only mode under a non-root user',
    breakIt: (o) => (podSpec(o, 'content-service').volumes[0].secret.defaultMode = 0o400),
    rule: 'tls-mount',
    message: 'cannot read the root-owned key',
  },
  {
    name: 'a Secret no Certificate issues',
    breakIt: (o) => (podSpec(o, 'user-service').volumes[0].secret.secretName = 'grpc-tls-certs'),
    rule: 'tls-mount',
    message: 'mounts no Secret issued by a cert-manager Certificate',
  },
  // The grpc-tls environment.
  {
    name: 'server key path missing',
    breakIt: (o) =>
      (container(o, 'identity-service').env = container(o, 'identity-service').env.filter(
        (e: Loose) => e.name !== 'GRPC_SERVER_KEY_PATH',
      )),
    rule: 'tls-env',
    message: 'GRPC_SERVER_KEY_PATH must be /etc/grpc-tls/tls.key (missing)',
  },
  {
    name: 'client certificates optional',
    breakIt: (o) => (env(o, 'user-service', 'GRPC_REQUIRE_CLIENT_CERT').value = 'false'),
    rule: 'tls-env',
    message: 'GRPC_REQUIRE_CLIENT_CERT must be true',
  },
  {
    name: 'insecure mode',
    breakIt: (o) => (env(o, 'user-service', 'SIGIL_TLS_MODE').value = 'insecure'),
    rule: 'tls-env',
    message: 'SIGIL_TLS_MODE=insecure',
  },
  {
    name: 'client key path points at the CA',
    breakIt: (o) =>
      (env(o, 'content-service', 'GRPC_CLIENT_KEY_PATH').value = '/etc/grpc-tls/ca.crt'),
    rule: 'tls-env',
    message: 'GRPC_CLIENT_KEY_PATH must be /etc/grpc-tls/tls.key',
  },
  {
    name: 'server domain other than the dialled host',
    breakIt: (o) => (env(o, 'user-service', 'GRPC_SERVER_DOMAIN').value = 'identity-service'),
    rule: 'tls-env',
    message: 'GRPC_SERVER_DOMAIN must be identity-service.sigil.svc.cluster.local',
  },
  {
    name: 'upstream verified in the wrong trust domain',
    render: 'prod',
    breakIt: (o) =>
      (env(o, 'content-service', 'GRPC_SERVER_SPIFFE_ID').value =
        'spiffe://sigil.example/svc/user-service'),
    rule: 'tls-env',
    message: 'GRPC_SERVER_SPIFFE_ID must be spiffe://prod.sigil.example/svc/user-service',
  },
  {
    name: 'upstream not verified by SPIFFE ID',
    breakIt: (o) =>
      (container(o, 'user-service').env = container(o, 'user-service').env.filter(
        (e: Loose) => e.name !== 'GRPC_SERVER_SPIFFE_ID',
      )),
    rule: 'tls-env',
    message: 'GRPC_SERVER_SPIFFE_ID must be spiffe://sigil.example/svc/identity-service (missing)',
  },
  {
    name: 'listen address off the grpc port',
    breakIt: (o) => (env(o, 'identity-service', 'GRPC_LISTEN_ADDR').value = '0.0.0.0:9999'),
    rule: 'tls-env',
    message: 'GRPC_LISTEN_ADDR',
  },
  // Workload hardening.
  {
    name: 'runs as root',
    breakIt: (o) => (podSpec(o, 'identity-service').securityContext.runAsUser = 0),
    rule: 'workload-security',
    message: 'runAsUser must be a fixed non-zero UID',
  },
  {
    name: 'runAsNonRoot off',
    breakIt: (o) => {
      podSpec(o, 'identity-service').securityContext.runAsNonRoot = false;
      container(o, 'identity-service').securityContext.runAsNonRoot = false;
    },
    rule: 'workload-security',
    message: 'runAsNonRoot must be true',
  },
  {
    name: 'writable root filesystem',
    breakIt: (o) => (container(o, 'user-service').securityContext.readOnlyRootFilesystem = false),
    rule: 'workload-security',
    message: 'readOnlyRootFilesystem must be true',
  },
  {
    name: 'capabilities kept',
    breakIt: (o) => delete container(o, 'user-service').securityContext.capabilities,
    rule: 'workload-security',
    message: 'capabilities.drop must include ALL',
  },
  {
    name: 'no seccomp profile',
    breakIt: (o) => delete podSpec(o, 'content-service').securityContext.seccompProfile,
    rule: 'workload-security',
    message: 'seccompProfile must be RuntimeDefault',
  },
  {
    name: 'service account token mounted',
    breakIt: (o) => (podSpec(o, 'content-service').automountServiceAccountToken = true),
    rule: 'workload-security',
    message: 'automountServiceAccountToken must be false',
  },
  {
    name: 'no liveness probe',
    breakIt: (o) => delete container(o, 'identity-service').livenessProbe,
    rule: 'workload-probes',
    message: 'needs a livenessProbe and a readinessProbe',
  },
  {
    name: 'gRPC health probe on the mTLS port',
    breakIt: (o) => (container(o, 'identity-service').readinessProbe = { grpc: { port: 50051 } }),
    rule: 'workload-probes',
    message: 'readinessProbe must be an httpGet on the plain-HTTP health port, not grpc',
  },
  {
    name: 'TCP probe on the mTLS port',
    breakIt: (o) => (container(o, 'user-service').livenessProbe = { tcpSocket: { port: 'grpc' } }),
    rule: 'workload-probes',
    message: 'not tcpSocket',
  },
  {
    name: 'HTTP probe on the gRPC port',
    breakIt: (o) => (container(o, 'user-service').startupProbe.httpGet.port = 'grpc'),
    rule: 'workload-probes',
    message: 'startupProbe targets port grpc',
  },
  {
    name: 'no limits',
    breakIt: (o) => delete container(o, 'content-service').resources.limits,
    rule: 'workload-resources',
    message: 'needs a cpu request and limit',
  },
  {
    name: 'request above limit',
    breakIt: (o) => (container(o, 'content-service').resources.requests.memory = '1Gi'),
    rule: 'workload-resources',
    message: 'memory request exceeds its limit',
  },
  {
    name: 'mutable image tag',
    breakIt: (o) => (container(o, 'content-service').image = 'sigil/content-service:latest'),
    rule: 'workload-image',
    message: 'must be pinned',
  },
  {
    name: 'literal admin token',
    render: 'control-plane',
    breakIt: (o) =>
      (get(o, 'Deployment', 'sigil-controller').spec.template.spec.containers[0].env.find(
        (e: Loose) => e.name === 'SIGIL_ADMIN_TOKEN',
      )!.value = 'hunter2'),
    rule: 'secret-env',
    message: 'SIGIL_ADMIN_TOKEN is a literal',
  },
  {
    name: 'control plane probe on a TLS port',
    render: 'control-plane',
    breakIt: (o) =>
      (get(
        o,
        'Deployment',
        'sigil-connector',
      ).spec.template.spec.containers[0].readinessProbe.httpGet.port = 'tunnel'),
    rule: 'workload-probes',
    message: 'targets port tunnel',
  },
  // Certificates.
  {
    name: 'SVID names another service',
    breakIt: (o) =>
      (get(o, 'Certificate', 'user-service').spec.uris = [
        'spiffe://sigil.example/svc/identity-service',
      ]),
    rule: 'certificate',
    message: 'does not name user-service',
  },
  {
    name: 'SVID with two URI SANs',
    breakIt: (o) =>
      get(o, 'Certificate', 'user-service').spec.uris.push('spiffe://sigil.example/svc/other'),
    rule: 'certificate',
    message: 'exactly one URI SAN',
  },
  {
    name: 'SVID without URI SAN',
    breakIt: (o) => delete get(o, 'Certificate', 'identity-service').spec.uris,
    rule: 'certificate',
    message: 'exactly one URI SAN',
  },
  {
    name: 'SVID key kept across renewals',
    breakIt: (o) =>
      (get(o, 'Certificate', 'identity-service').spec.privateKey.rotationPolicy = 'Never'),
    rule: 'certificate',
    message: 'rotationPolicy must be Always',
  },
  {
    name: 'SVID without client auth',
    breakIt: (o) =>
      (get(o, 'Certificate', 'content-service').spec.usages = ['digital signature', 'server auth']),
    rule: 'certificate',
    message: 'usages must include "client auth"',
  },
  {
    name: 'renewal after expiry',
    breakIt: (o) => (get(o, 'Certificate', 'content-service').spec.renewBefore = '2h'),
    rule: 'certificate',
    message: 'renewBefore 2h',
  },
  {
    name: 'cluster DNS name missing',
    breakIt: (o) =>
      (get(o, 'Certificate', 'identity-service').spec.dnsNames = ['identity-service']),
    rule: 'certificate',
    message: 'identity-service.sigil.svc.cluster.local',
  },
  {
    name: 'RSA key',
    breakIt: (o) =>
      (get(o, 'Certificate', 'identity-service').spec.privateKey = {
        algorithm: 'RSA',
        size: 2048,
        rotationPolicy: 'Always',
      }),
    rule: 'certificate',
    message: 'ECDSA',
  },
  {
    name: 'SVID from the self-signed issuer',
    breakIt: (o) =>
      (get(o, 'Certificate', 'identity-service').spec.issuerRef.name = 'sigil-selfsigned'),
    rule: 'certificate',
    message: 'is not a CA ClusterIssuer',
  },
  {
    name: 'stray certificate',
    breakIt: (o) => delete get(o, 'Certificate', 'api-gateway').metadata.annotations,
    rule: 'certificate',
    message: 'is mounted by no Deployment',
  },
  {
    name: 'client-only identity with client auth alone (Sigil refuses it as an X509-SVID)',
    breakIt: (o) =>
      (get(o, 'Certificate', 'api-gateway').spec.usages = ['digital signature', 'client auth']),
    rule: 'certificate',
    message: 'X509-SVID 4.4',
  },
  {
    name: 'SVID without digital signature',
    breakIt: (o) =>
      (get(o, 'Certificate', 'user-service').spec.usages = [
        'key encipherment',
        'server auth',
        'client auth',
      ]),
    rule: 'certificate',
    message: 'X509-SVID 4.3: leaf MUST set digitalSignature',
  },
  {
    name: 'SVID that signs certificates',
    breakIt: (o) => get(o, 'Certificate', 'user-service').spec.usages.push('cert sign'),
    rule: 'certificate',
    message: 'X509-SVID 4.3: leaf MUST NOT set keyCertSign',
  },
  {
    name: 'SVID naming the trust domain only',
    breakIt: (o) => (get(o, 'Certificate', 'api-gateway').spec.uris = ['spiffe://sigil.example']),
    rule: 'certificate',
    message: 'X509-SVID 3.1',
  },
  {
    name: 'Certificate without revisionHistoryLimit',
    breakIt: (o) => delete get(o, 'Certificate', 'sigil-root-ca').spec.revisionHistoryLimit,
    rule: 'certificate',
    message: 'needs revisionHistoryLimit',
  },
  {
    name: 'token file outside a Secret volume',
    render: 'tunneler',
    breakIt: (o) =>
      (get(o, 'Deployment', 'sigil-tunneler').spec.template.spec.initContainers[0].env.find(
        (e: Loose) => e.name === 'ENROLLMENT_TOKEN_FILE',
      )!.value = '/tmp/token'),
    rule: 'secret-env',
    message: 'ENROLLMENT_TOKEN_FILE (/tmp/token) is not in a mounted Secret volume',
  },
  {
    name: 'policy for pods nobody runs',
    breakIt: (o) =>
      (get(o, 'NetworkPolicy', 'api-gateway').spec.podSelector.matchLabels[
        'app.kubernetes.io/name'
      ] = 'gateway'),
    rule: 'network-policy',
    message: 'selects no workload or client identity',
  },
  {
    name: 'two trust domains',
    breakIt: (o) =>
      (get(o, 'Certificate', 'api-gateway').spec.uris = ['spiffe://other.example/svc/api-gateway']),
    rule: 'certificate',
    message: 'several trust domains',
  },
  {
    name: 'CA key rotated on renewal',
    breakIt: (o) =>
      (get(o, 'Certificate', 'sigil-root-ca').spec.privateKey.rotationPolicy = 'Always'),
    rule: 'ca',
    message: 'rotationPolicy must be Never for the CA',
  },
  {
    name: 'CA outside the cluster resource namespace',
    breakIt: (o) => (get(o, 'Certificate', 'sigil-root-ca').metadata.namespace = 'sigil'),
    rule: 'ca',
    message: 'no Certificate in namespace cert-manager',
  },
  // Network policies.
  {
    name: 'policy selecting nothing',
    breakIt: (o) =>
      (get(o, 'NetworkPolicy', 'identity-service').spec.podSelector.matchLabels[
        'app.kubernetes.io/name'
      ] = 'identity-svc'),
    rule: 'network-policy',
    message: 'selects no workload',
  },
  {
    name: 'no default deny',
    breakIt: (o) =>
      o.splice(o.indexOf(get(o, 'NetworkPolicy', 'default-deny-all') as KubernetesObject), 1),
    rule: 'network-policy',
    message: 'has no default-deny NetworkPolicy',
  },
  {
    name: 'no DNS egress',
    breakIt: (o) =>
      o.splice(o.indexOf(get(o, 'NetworkPolicy', 'allow-dns-egress') as KubernetesObject), 1),
    rule: 'network-policy',
    message: 'no DNS (UDP 53) egress',
  },
  {
    name: 'peer matching nothing',
    breakIt: (o) =>
      (get(o, 'NetworkPolicy', 'user-service').spec.ingress[0].from[0].podSelector.matchLabels[
        'app.kubernetes.io/name'
      ] = 'contnet-service'),
    rule: 'network-policy',
    message: 'matches no workload or client identity',
  },
  {
    name: 'ingress rule on every port',
    breakIt: (o) => delete get(o, 'NetworkPolicy', 'user-service').spec.ingress[0].ports,
    rule: 'network-policy',
    message: 'opens every port',
  },
  {
    name: 'ingress on a port nobody serves',
    breakIt: (o) => (get(o, 'NetworkPolicy', 'user-service').spec.ingress[0].ports[0].port = 50059),
    rule: 'network-policy',
    message: 'ingress port 50059 is not a port of the selected pods',
  },
  // Network layer against identity layer.
  {
    name: 'network admits a caller the policy refuses',
    breakIt: (o) =>
      get(o, 'NetworkPolicy', 'identity-service').spec.ingress[0].from.push({
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'content-service' } },
      }),
    rule: 'network-flow',
    message:
      'a NetworkPolicy admits content-service to port 50051, but its authorization policy does not allow content-service',
  },
  {
    name: 'policy allows a caller the network refuses',
    breakIt: (o) =>
      setPolicy(o, 'user-service', {
        rules: [
          {
            name: 'both',
            methods: ['sigil.user.v1.UserService/*'],
            callers: [
              'spiffe://sigil.example/svc/content-service',
              'spiffe://sigil.example/svc/api-gateway',
            ],
          },
        ],
      }),
    rule: 'network-flow',
    message: 'its authorization policy allows api-gateway, but no NetworkPolicy admits api-gateway',
  },
  {
    name: 'caller without egress',
    breakIt: (o) => delete get(o, 'NetworkPolicy', 'user-service').spec.egress,
    rule: 'network-flow',
    message:
      'calls identity-service:50051 (IDENTITY_SERVICE_ADDR) but no NetworkPolicy lets it out',
  },
  {
    name: 'upstream policy refuses its caller',
    breakIt: (o) =>
      setPolicy(o, 'identity-service', {
        rules: [
          {
            methods: ['sigil.identity.v1.IdentityService/*'],
            callers: ['spiffe://sigil.example/svc/content-service'],
          },
        ],
      }),
    rule: 'network-flow',
    message:
      'calls identity-service (IDENTITY_SERVICE_ADDR), whose authorization policy does not allow spiffe://sigil.example/svc/user-service',
  },
  {
    name: 'upstream address without a Service',
    breakIt: (o) =>
      (env(o, 'content-service', 'USER_SERVICE_ADDR').value =
        'users.sigil.svc.cluster.local:50052'),
    rule: 'network-flow',
    message: 'no Service users in sigil',
  },
  {
    name: 'network admits anyone',
    breakIt: (o) => delete get(o, 'NetworkPolicy', 'content-service').spec.ingress[0].from,
    rule: 'network-flow',
    message: 'admit any source to the gRPC port 50053',
  },
  // Authorization policies.
  {
    name: 'policy names an identity nobody has',
    breakIt: (o) =>
      setPolicy(o, 'identity-service', {
        rules: [
          {
            methods: ['sigil.identity.v1.IdentityService/*'],
            callers: [
              'spiffe://sigil.example/svc/user-service',
              'spiffe://sigil.example/svc/ghost',
            ],
          },
        ],
      }),
    rule: 'authz-policy',
    message: 'caller spiffe://sigil.example/svc/ghost is no SPIFFE ID issued in this render',
  },
  {
    name: 'policy names another trust domain',
    breakIt: (o) =>
      setPolicy(o, 'identity-service', {
        rules: [
          {
            methods: ['sigil.identity.v1.IdentityService/*'],
            callers: ['spiffe://prod.sigil.example/svc/user-service'],
          },
        ],
      }),
    rule: 'authz-policy',
    message: 'caller spiffe://prod.sigil.example/svc/user-service is no SPIFFE ID',
  },
  {
    name: 'policy names a method that does not exist',
    breakIt: (o) =>
      setPolicy(o, 'user-service', {
        rules: [
          {
            methods: ['sigil.user.v1.UserService/DeleteEverything'],
            callers: ['spiffe://sigil.example/svc/content-service'],
          },
        ],
      }),
    rule: 'authz-policy',
    message: 'method sigil.user.v1.UserService/DeleteEverything matches no method',
  },
  {
    name: 'policy the service would refuse to load',
    breakIt: (o) =>
      setPolicy(o, 'user-service', {
        rules: [
          {
            methods: ['sigil.user.v1.UserService/*'],
            allow: ['spiffe://sigil.example/svc/content-service'],
          },
        ],
      }),
    rule: 'authz-policy',
    message: 'unknown field "allow"',
  },
  {
    name: 'no policy file',
    breakIt: (o) =>
      (container(o, 'identity-service').env = container(o, 'identity-service').env.filter(
        (e: Loose) => e.name !== 'SIGIL_AUTHZ_POLICY',
      )),
    rule: 'authz-policy',
    message: 'SIGIL_AUTHZ_POLICY is not set',
  },
  {
    name: 'policy path outside the mounted ConfigMap',
    breakIt: (o) =>
      (env(o, 'identity-service', 'SIGIL_AUTHZ_POLICY').value = '/etc/sigil/policy.yaml'),
    rule: 'authz-policy',
    message: 'is not a file of a mounted ConfigMap',
  },
  // Services and disruption budgets.
  {
    name: 'Service in front of other pods',
    breakIt: (o) =>
      (get(o, 'Service', 'identity-service').spec.selector = {
        'app.kubernetes.io/name': 'user-service',
      }),
    rule: 'service',
    message: 'needs a Service named identity-service',
  },
  {
    name: 'disruption budget that blocks drains',
    render: 'prod',
    breakIt: (o) => (get(o, 'PodDisruptionBudget', 'user-service').spec.minAvailable = 3),
    rule: 'pod-disruption-budget',
    message: 'allows no disruption',
  },
  {
    name: 'disruption budget for nothing',
    render: 'prod',
    breakIt: (o) =>
      (get(o, 'PodDisruptionBudget', 'user-service').spec.selector.matchLabels[
        'app.kubernetes.io/name'
      ] = 'users'),
    rule: 'pod-disruption-budget',
    message: 'selects 0 workloads',
  },
];

function optionsFor(render: keyof typeof renders): RuleOptions {
  return {
    profile: render === 'control-plane' || render === 'tunneler' ? 'control-plane' : 'workloads',
    grpcMethods,
  };
}

test.each(Object.keys(renders) as (keyof typeof renders)[])(
  'the unbroken %s render passes',
  (render) => {
    expect(checkManifests(renders[render], optionsFor(render))).toEqual([]);
  },
);

test.each(cases)('catches: $name', ({ render = 'dev', breakIt, rule, message }) => {
  const objects = structuredClone(renders[render]);
  breakIt(objects);
  const violations = checkManifests(objects, optionsFor(render));
  expect(violations).toContainEqual(
    expect.objectContaining({ rule, message: expect.stringContaining(message) }),
  );
});

test('quantities and durations are read like Kubernetes and Go read them', () => {
  expect(parseQuantity('250m')).toBeCloseTo(0.25);
  expect(parseQuantity('1')).toBe(1);
  expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
  expect(parseQuantity('1G')).toBe(1e9);
  expect(parseQuantity('lots')).toBeNaN();
  expect(parseGoDuration('720h')).toBe(720 * 3600);
  expect(parseGoDuration('1h30m')).toBe(5400);
  expect(parseGoDuration('20m')).toBe(1200);
  expect(parseGoDuration('1d')).toBeNaN();
});
