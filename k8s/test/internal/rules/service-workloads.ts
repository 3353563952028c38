// One gRPC service Deployment, end to end: its TLS Secret mount, the grpc-tls environment, its SVID and
// Service, and each upstream it calls.
import { describeObject } from '../kinds';
import { allowedCallers, checkPolicyAgainstNetwork } from './authorization-policies';
import { checkSvidCertificate } from './certificates';
import {
  SERVICE_ADDR_ENV,
  envOf,
  namespaceOf,
  podLabels,
  rulePortsInclude,
  selects,
} from './context';
import type { Context } from './context';
import type { Container, ServiceObject, WorkloadObject } from './types';

/** Every rule of one gRPC service Deployment (profile `workloads`). */
export function checkServiceWorkload(ctx: Context, workload: WorkloadObject): void {
  const spec = workload.spec.template.spec;
  const container = spec.containers[0]!;
  const env = envOf(container);
  const name = workload.metadata.name;
  const namespace = namespaceOf(workload);

  // The Secret, read-only, readable by the non-root user and nobody else.
  const tls = ctx.tlsVolume(workload);
  if (tls === undefined) {
    ctx.report('tls-mount', workload, 'mounts no Secret issued by a cert-manager Certificate');
    return;
  }
  const mount = (container.volumeMounts ?? []).find((m) => m.name === tls.volume.name);
  if (mount === undefined) {
    ctx.report(
      'tls-mount',
      workload,
      `container ${container.name} does not mount the volume ${tls.volume.name}`,
    );
    return;
  }
  if (mount.readOnly !== true)
    ctx.report('tls-mount', workload, `${tls.volume.name} must be mounted readOnly`);
  if (mount.subPath !== undefined || mount.subPathExpr !== undefined)
    ctx.report(
      'tls-mount',
      workload,
      `${tls.volume.name} is mounted with subPath: renewed certificates would never appear in the container`,
    );
  if (tls.volume.secret?.items !== undefined)
    ctx.report(
      'tls-mount',
      workload,
      `${tls.volume.name} selects items: mount the whole Secret (tls.crt, tls.key, ca.crt)`,
    );
  const mode = tls.volume.secret?.defaultMode ?? 0o644;
  if ((mode & ~0o440) !== 0)
    ctx.report(
      'tls-mount',
      workload,
      `defaultMode ${mode.toString(8)} lets others read or write the private key (at most 0440)`,
    );
  const uid = container.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
  if (uid !== 0 && (spec.securityContext?.fsGroup === undefined || (mode & 0o040) === 0)) {
    ctx.report(
      'tls-mount',
      workload,
      `a non-root process cannot read the root-owned key: set securityContext.fsGroup and a defaultMode with group read (0440), not ${mode.toString(8)}`,
    );
  }
  const dir = mount.mountPath.replace(/\/$/, '');

  // The grpc-tls environment, pointing into that mount.
  const expectValue = (variable: string, expected: string): void => {
    const value = env.get(variable)?.value;
    if (value !== expected)
      ctx.report(
        'tls-env',
        workload,
        `${variable} must be ${expected}${value === undefined ? ' (missing)' : `, not ${value}`}`,
      );
  };
  expectValue('GRPC_SERVER_CERT_PATH', `${dir}/tls.crt`);
  expectValue('GRPC_SERVER_KEY_PATH', `${dir}/tls.key`);
  expectValue('GRPC_CLIENT_CA_CERT_PATH', `${dir}/ca.crt`);
  expectValue('GRPC_REQUIRE_CLIENT_CERT', 'true');
  const tlsMode = env.get('SIGIL_TLS_MODE')?.value;
  if (tlsMode !== undefined && tlsMode !== 'file')
    ctx.report(
      'tls-env',
      workload,
      `SIGIL_TLS_MODE=${tlsMode}: only file mode belongs in a cluster`,
    );
  for (const [variable, value] of env) {
    if (/INSECURE/.test(variable) && value.value === 'true')
      ctx.report('tls-env', workload, `${variable}=true disables verification`);
  }
  const grpcPort = (container.ports ?? []).find((p) => p.name === 'grpc');
  const listen = env.get('GRPC_LISTEN_ADDR')?.value;
  if (
    grpcPort === undefined ||
    listen === undefined ||
    !listen.endsWith(`:${grpcPort.containerPort}`)
  ) {
    ctx.report(
      'tls-env',
      workload,
      `GRPC_LISTEN_ADDR (${String(listen)}) must listen on the container port named grpc (${String(grpcPort?.containerPort)})`,
    );
  }

  // Its SVID and its Service.
  checkSvidCertificate(ctx, tls.certificate, name, ['server auth', 'client auth']);
  const clusterName = `${name}.${namespace}.svc.cluster.local`;
  for (const dnsName of [name, clusterName]) {
    if (!(tls.certificate.spec.dnsNames ?? []).includes(dnsName))
      ctx.report('certificate', tls.certificate, `dnsNames must include ${dnsName}`);
  }
  const service = ctx
    .of<ServiceObject>('v1/Service')
    .find((s) => s.metadata.name === name && namespaceOf(s) === namespace);
  if (
    service === undefined ||
    service.spec.selector === undefined ||
    !selects({ matchLabels: service.spec.selector }, podLabels(workload))
  ) {
    ctx.report(
      'service',
      workload,
      `needs a Service named ${name} selecting its pods (the name in its certificate)`,
    );
  } else if (
    grpcPort !== undefined &&
    !service.spec.ports.some(
      (p) =>
        p.port === grpcPort.containerPort &&
        (p.targetPort === 'grpc' || p.targetPort === grpcPort.containerPort),
    )
  ) {
    ctx.report('service', service, `must expose the gRPC port ${grpcPort.containerPort}`);
  }

  // Agreement of its authorization policy with the network layer, and each upstream call.
  const policy = ctx.policies.get(workload);
  if (policy !== undefined && grpcPort !== undefined)
    checkPolicyAgainstNetwork(ctx, workload, policy, grpcPort);
  for (const [variable, value] of env) {
    if (SERVICE_ADDR_ENV.test(variable))
      checkUpstream(ctx, workload, container, dir, variable, value.value);
  }
}

/** One upstream the workload calls (`<NAME>_SERVICE_ADDR`): client TLS variables, the Service, identities, policy and egress. */
export function checkUpstream(
  ctx: Context,
  workload: WorkloadObject,
  container: Container,
  dir: string,
  variable: string,
  address: string | undefined,
): void {
  const env = envOf(container);
  const match = address === undefined ? null : /^([a-z0-9.-]+):(\d+)$/.exec(address);
  if (match === null) {
    ctx.report('tls-env', workload, `${variable}=${String(address)} is not host:port`);
    return;
  }
  const host = match[1]!;
  const port = Number(match[2]);
  for (const [name, expected] of [
    ['GRPC_SERVER_CA_CERT_PATH', `${dir}/ca.crt`],
    ['GRPC_CLIENT_CERT_PATH', `${dir}/tls.crt`],
    ['GRPC_CLIENT_KEY_PATH', `${dir}/tls.key`],
    ['GRPC_SERVER_DOMAIN', host],
  ] as const) {
    const value = env.get(name)?.value;
    if (value !== expected)
      ctx.report(
        'tls-env',
        workload,
        `${variable} makes it a client: ${name} must be ${expected}${value === undefined ? ' (missing)' : `, not ${value}`}`,
      );
  }

  const [serviceName, serviceNamespace = namespaceOf(workload)] = host.split('.');
  const service = ctx
    .of<ServiceObject>('v1/Service')
    .find((s) => s.metadata.name === serviceName && namespaceOf(s) === serviceNamespace);
  const selector = service?.spec.selector;
  const upstream =
    selector === undefined
      ? undefined
      : ctx.deployments.find(
          (d) =>
            namespaceOf(d) === serviceNamespace && selects({ matchLabels: selector }, podLabels(d)),
        );
  if (upstream === undefined || !service!.spec.ports.some((p) => p.port === port)) {
    ctx.report(
      'network-flow',
      workload,
      `${variable}=${address}: no Service ${serviceName} in ${serviceNamespace} with port ${port} in front of a Deployment`,
    );
    return;
  }
  const upstreamTls = ctx.tlsVolume(upstream);
  if (upstreamTls !== undefined && !(upstreamTls.certificate.spec.dnsNames ?? []).includes(host)) {
    ctx.report(
      'certificate',
      upstreamTls.certificate,
      `${describeObject(workload)} verifies ${host} (GRPC_SERVER_DOMAIN), which is not among its dnsNames`,
    );
  }
  const expectedId = ctx.identityOf(upstream)?.spiffeId;
  const verified = env.get('GRPC_SERVER_SPIFFE_ID')?.value;
  if (expectedId !== undefined && verified !== expectedId) {
    ctx.report(
      'tls-env',
      workload,
      `${variable} makes it a client of ${upstream.metadata.name}: GRPC_SERVER_SPIFFE_ID must be ${expectedId}${verified === undefined ? ' (missing)' : `, not ${verified}`}`,
    );
  }
  const caller = ctx.identityOf(workload);
  const upstreamPort = upstream.spec.template.spec.containers
    .flatMap((c) => c.ports ?? [])
    .find((p) => p.name === 'grpc');
  if (caller === undefined || upstreamPort === undefined) return;

  const upstreamPolicy = ctx.policies.get(upstream);
  if (
    upstreamPolicy !== undefined &&
    !allowedCallers(ctx, upstreamPolicy).some((i) => i.spiffeId === caller.spiffeId)
  ) {
    ctx.report(
      'network-flow',
      workload,
      `calls ${upstream.metadata.name} (${variable}), whose authorization policy does not allow ${caller.spiffeId}`,
    );
  }
  const egress = ctx.policiesFor(workload, 'Egress');
  const egressAllowed =
    egress.length === 0 ||
    egress
      .flatMap((p) => p.spec.egress ?? [])
      .some(
        (rule) =>
          rulePortsInclude(
            rule,
            upstreamPort.containerPort,
            upstream.spec.template.spec.containers.flatMap((c) => c.ports ?? []),
          ) &&
          (rule.to === undefined ||
            rule.to.length === 0 ||
            rule.to.some(
              (peer) =>
                peer.namespaceSelector === undefined &&
                peer.ipBlock === undefined &&
                selects(peer.podSelector, podLabels(upstream)),
            )),
      );
  if (!egressAllowed)
    ctx.report(
      'network-flow',
      workload,
      `calls ${upstream.metadata.name}:${upstreamPort.containerPort} (${variable}) but no NetworkPolicy lets it out`,
    );
}
