// Hardening of every Deployment and StatefulSet: security context, resources, images, secrets, probes.
import { HEALTH_PORT_NAMES, SECRET_ENV, allContainers } from './context';
import type { Context } from './context';
import { parseQuantity } from './quantities';
import type { Container, WorkloadObject } from './types';

/** Security context, resources, images and secret variables of every Deployment and StatefulSet. */
export function checkWorkloadHardening(ctx: Context): void {
  for (const workload of ctx.workloads) {
    const spec = workload.spec.template.spec;
    const pod = spec.securityContext ?? {};
    if (spec.automountServiceAccountToken !== false)
      ctx.report(
        'workload-security',
        workload,
        'automountServiceAccountToken must be false: no workload here talks to the Kubernetes API',
      );
    if (spec.hostNetwork === true || spec.hostPID === true || spec.hostIPC === true)
      ctx.report(
        'workload-security',
        workload,
        'must not share the host network, PID or IPC namespace',
      );
    for (const volume of spec.volumes ?? [])
      if (volume.hostPath !== undefined)
        ctx.report('workload-security', workload, `volume ${volume.name} is a hostPath`);
    const seccomp = pod.seccompProfile?.type;

    for (const container of allContainers(spec)) {
      const sc = container.securityContext ?? {};
      const where = `container ${container.name}`;
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true)
        ctx.report('workload-security', workload, `${where}: runAsNonRoot must be true`);
      const uid = sc.runAsUser ?? pod.runAsUser;
      if (uid === undefined || uid === 0)
        ctx.report(
          'workload-security',
          workload,
          `${where}: runAsUser must be a fixed non-zero UID (file ownership of mounted Secrets depends on it)`,
        );
      if (sc.readOnlyRootFilesystem !== true)
        ctx.report('workload-security', workload, `${where}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false)
        ctx.report(
          'workload-security',
          workload,
          `${where}: allowPrivilegeEscalation must be false`,
        );
      if (sc.privileged === true)
        ctx.report('workload-security', workload, `${where}: must not be privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL'))
        ctx.report('workload-security', workload, `${where}: capabilities.drop must include ALL`);
      if ((sc.capabilities?.add ?? []).length > 0)
        ctx.report('workload-security', workload, `${where}: must not add capabilities`);
      const effectiveSeccomp = sc.seccompProfile?.type ?? seccomp;
      if (effectiveSeccomp !== 'RuntimeDefault' && effectiveSeccomp !== 'Localhost')
        ctx.report(
          'workload-security',
          workload,
          `${where}: seccompProfile must be RuntimeDefault`,
        );

      for (const resource of ['cpu', 'memory']) {
        const request = parseQuantity(container.resources?.requests?.[resource]);
        const limit = parseQuantity(container.resources?.limits?.[resource]);
        if (Number.isNaN(request) || Number.isNaN(limit))
          ctx.report(
            'workload-resources',
            workload,
            `${where}: needs a ${resource} request and limit`,
          );
        else if (request > limit)
          ctx.report(
            'workload-resources',
            workload,
            `${where}: ${resource} request exceeds its limit`,
          );
      }

      const image = container.image ?? '';
      const tagged = image.includes('@') || /:[^/]+$/.test(image);
      if (!tagged || image.endsWith(':latest'))
        ctx.report(
          'workload-image',
          workload,
          `${where}: image "${image}" must be pinned to a tag other than latest, or a digest`,
        );

      const secretMounts = (container.volumeMounts ?? [])
        .filter((m) =>
          (spec.volumes ?? []).some((v) => v.name === m.name && v.secret !== undefined),
        )
        .map((m) => `${m.mountPath.replace(/\/$/, '')}/`);
      for (const env of container.env ?? []) {
        // A `*_FILE` variable holds a path: fine when it points into a mounted Secret.
        if (env.name.endsWith('_FILE') && env.value !== undefined) {
          if (SECRET_ENV.test(env.name) && !secretMounts.some((m) => env.value!.startsWith(m)))
            ctx.report(
              'secret-env',
              workload,
              `${where}: ${env.name} (${env.value}) is not in a mounted Secret volume`,
            );
        } else if (SECRET_ENV.test(env.name) && env.value !== undefined)
          ctx.report(
            'secret-env',
            workload,
            `${where}: ${env.name} is a literal; take it from a Secret (valueFrom.secretKeyRef)`,
          );
      }
    }

    for (const container of spec.containers) checkProbes(ctx, workload, container);
  }
}

/** Liveness, readiness and startup probes: httpGet on a declared health port. */
export function checkProbes(ctx: Context, workload: WorkloadObject, container: Container): void {
  const where = `container ${container.name}`;
  if (container.livenessProbe === undefined || container.readinessProbe === undefined)
    ctx.report('workload-probes', workload, `${where}: needs a livenessProbe and a readinessProbe`);
  const probes = {
    livenessProbe: container.livenessProbe,
    readinessProbe: container.readinessProbe,
    startupProbe: container.startupProbe,
  };
  for (const [kind, probe] of Object.entries(probes)) {
    if (probe === undefined) continue;
    if (probe.httpGet === undefined) {
      // A grpc: or tcpSocket: probe on an mTLS port fails (no client certificate) or counts as a
      // handshake error on every period.
      ctx.report(
        'workload-probes',
        workload,
        `${where}: ${kind} must be an httpGet on the plain-HTTP health port, not ${Object.keys(probe).find((k) => ['grpc', 'tcpSocket', 'exec'].includes(k)) ?? 'this'}`,
      );
      continue;
    }
    const port = probe.httpGet.port;
    const declared = (container.ports ?? []).find(
      (p) => p.name === port || p.containerPort === port,
    );
    if (
      declared === undefined ||
      declared.name === undefined ||
      !HEALTH_PORT_NAMES.has(declared.name)
    ) {
      ctx.report(
        'workload-probes',
        workload,
        `${where}: ${kind} targets port ${String(port)}, which is not a declared health port (${[...HEALTH_PORT_NAMES].join(' or ')})`,
      );
    }
  }
}
