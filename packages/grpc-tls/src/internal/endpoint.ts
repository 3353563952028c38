import { formatCertExpiry } from '@sigil/cert-expiry';
import type { Logger } from 'pino';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { ClientTlsConfig, ServerTlsConfig } from '../config';
import { storeOfIdentity } from '../rotating-identity';
import { createDevMaterial, DEV_TRUST_DOMAIN } from './dev-material';
import { FileMaterialSource } from './file-source';
import type { Material } from './material';
import { MaterialStore } from './material';
import type { Side, TlsMetrics } from './metrics';
import { tlsMetrics } from './metrics';
import { openSpiffeSource, type SpiffeSource } from './spiffe-source';
import type { CredentialsOptions, ReloadResult, ServedCertificate } from '../credentials-types';

/** What server and client handles share: material, reloads, logs and metrics. */
export interface Endpoint {
  readonly store: MaterialStore | undefined;
  readonly registry: Registry;
  readonly metrics: TlsMetrics;
  readonly logger: Logger;
  reload(): ReloadResult;
  onReload(listener: (result: ReloadResult) => void): () => void;
  /** Installs new material into credentials; runs on each rotation before it is logged and announced. */
  onRotate(apply: (material: Material) => void): void;
  /** Releases watchers, timers, the SIGHUP listener and the expiry gauge series. */
  close(): void;
}

/**
 * Opens the material of a configuration (files, dev CA or in-memory identity), logs the start
 * and its warnings, and reports every rotation as a log event and a metric.
 */
export async function openEndpoint(
  config: ServerTlsConfig | ClientTlsConfig,
  options: CredentialsOptions,
): Promise<Endpoint> {
  const side: Side = config.side;
  const logger = options.logger ?? pino({ name: 'sigil-grpc-tls' });
  const registry = options.registry ?? new Registry();
  const metrics = tlsMetrics(registry);
  for (const warning of config.warnings)
    logger.warn({ event: warning.event, side, variables: warning.variables }, warning.message);
  if (config.mode === 'insecure') {
    return {
      store: undefined,
      registry,
      metrics,
      logger,
      reload: () => ({ status: 'unchanged', trigger: 'manual' }),
      onReload: () => () => undefined,
      onRotate: () => undefined,
      close: () => undefined,
    };
  }

  const validation = {
    now: options.now ?? (() => new Date()),
    warnDays: config.warnDays,
    ...(config.requireIssuedByBundle === undefined
      ? {}
      : { checkIssuer: config.requireIssuedByBundle }),
  };
  let fileSource: FileMaterialSource | undefined;
  let spiffeSource: SpiffeSource | undefined;
  let store: MaterialStore;
  switch (config.mode) {
    case 'file':
      fileSource = new FileMaterialSource(config.files ?? {}, config.reload, validation, (error) =>
        logger.warn(
          { event: 'grpc_tls.watch_failed', side, error: error.message },
          'cannot watch the certificate files; relying on the periodic re-read and SIGHUP',
        ),
      );
      store = fileSource.store;
      break;
    case 'dev':
      store = new MaterialStore(
        await createDevMaterial(
          config.devSpiffeId ?? `spiffe://${DEV_TRUST_DOMAIN}/dev/${side}`,
          config.devCaDir,
        ),
        DEV_SOURCES,
        validation,
      );
      break;
    case 'memory':
      store = storeOfIdentity(config.identity!);
      break;
    case 'spiffe':
      spiffeSource = await openSpiffeSource(config.spiffeEndpoint!, validation, logger, side);
      store = spiffeSource.store;
      break;
  }

  const listeners = new Set<(result: ReloadResult) => void>();
  const appliers: ((material: Material) => void)[] = [];
  const unsubscribe = store.subscribe((event) => {
    let result: ReloadResult;
    if (event.type === 'rotated') {
      for (const apply of appliers) apply(event.material);
      metrics.rotations.inc({ side, result: 'applied' });
      logger.info(
        {
          event: 'grpc_tls.rotated',
          side,
          trigger: event.trigger,
          version: event.material.version,
          serialNumber: event.material.serialNumber,
          previousSerialNumber: event.previous.serialNumber,
          spiffeId: event.material.spiffeId,
          notAfter: event.material.expiry?.notAfter.toISOString(),
          caChanged: event.material.caPem !== event.previous.caPem,
        },
        'TLS certificate rotated: new handshakes use it, open connections keep theirs',
      );
      warnIfExpiring(logger, side, event.material);
      result = { status: 'applied', trigger: event.trigger, ...served(event.material) };
    } else {
      metrics.rotations.inc({ side, result: 'rejected' });
      metrics.validationFailures.inc({ side, origin: 'local', reason: event.error.code });
      logger.error(
        {
          event: 'grpc_tls.rotation_rejected',
          side,
          trigger: event.trigger,
          code: event.error.code,
          error: event.error.message,
          servingSerialNumber: event.current.serialNumber,
        },
        'new TLS material rejected; still serving the previous certificate',
      );
      result = {
        status: 'rejected',
        trigger: event.trigger,
        error: event.error,
        ...served(event.current),
      };
    }
    for (const listener of listeners) listener(result);
  });
  const untrack = metrics.trackExpiry(side, () => {
    const { leaf, spiffeId, serialNumber } = store.current;
    return (
      leaf && {
        identity: spiffeId ?? (leaf.subject.replace(/\n/g, ', ') || `serial ${serialNumber}`),
        notAfter: new Date(leaf.validTo),
      }
    );
  });

  const current = store.current;
  logger.info(
    {
      event: 'grpc_tls.credentials_ready',
      side,
      mode: config.mode,
      source: config.source,
      serialNumber: current.serialNumber,
      spiffeId: current.spiffeId,
      notAfter: current.expiry?.notAfter.toISOString(),
      daysLeft: current.expiry?.daysLeft,
    },
    `TLS ready (${config.mode} mode)`,
  );
  if (config.mode === 'dev')
    logger.warn(
      { event: 'grpc_tls.dev_mode', side, spiffeId: current.spiffeId },
      'dev mode: throwaway certificates from an in-memory CA; never use in production',
    );
  warnIfExpiring(logger, side, current);

  return {
    store,
    registry,
    metrics,
    logger,
    reload: () => {
      const result = fileSource?.reload('manual');
      return result
        ? {
            status: result.status,
            trigger: result.trigger,
            ...served(result.material),
            ...(result.error ? { error: result.error } : {}),
          }
        : { status: 'unchanged', trigger: 'manual', ...served(store.current) };
    },
    onReload: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onRotate: (apply) => {
      appliers.push(apply);
    },
    close: () => {
      fileSource?.close();
      spiffeSource?.close();
      unsubscribe();
      untrack();
      listeners.clear();
    },
  };
}

const DEV_SOURCES = { certificate: 'dev certificate', privateKey: 'dev key', ca: 'dev CA' };

/** The public view of served material. */
export function served(material: Material): { certificate?: ServedCertificate } {
  if (!material.leaf || !material.serialNumber) return {};
  return {
    certificate: {
      version: material.version,
      serialNumber: material.serialNumber,
      ...(material.spiffeId ? { spiffeId: material.spiffeId } : {}),
      notAfter: new Date(material.leaf.validTo),
    },
  };
}

// The certificates each logger has been told are expiring: an agent serves and dials with one
// certificate through several endpoints (controller client, peer server), which would each warn.
const warnedSerials = new WeakMap<Logger, Set<string>>();

function warnIfExpiring(logger: Logger, side: Side, material: Material): void {
  const expiry = material.expiry;
  if (expiry?.status === 'warning') {
    const warned = warnedSerials.get(logger) ?? new Set<string>();
    warnedSerials.set(logger, warned);
    if (warned.has(material.serialNumber!)) return;
    warned.add(material.serialNumber!);
    logger.warn(
      {
        event: 'grpc_tls.cert_expiring_soon',
        side,
        daysLeft: expiry.daysLeft,
        notAfter: expiry.notAfter.toISOString(),
        file: expiry.source,
      },
      formatCertExpiry(expiry),
    );
  }
}
