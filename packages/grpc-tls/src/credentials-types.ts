import type { SigilError } from '@sigil/errors';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/**
 * Runtime dependencies of `createServerCredentials` / `createClientCredentials`.
 *
 * @example
 * ```ts
 * const registry = new Registry();
 * const server = await createServerCredentials(ServerTlsConfig.fromEnv(), { logger, registry });
 * const client = await createClientCredentials(ClientTlsConfig.fromEnv(), { logger, registry }); // same registry: one set of metrics
 * ```
 */
export interface CredentialsOptions {
  /** Structured logger. Default a pino logger named `sigil-grpc-tls` on stdout. */
  logger?: Logger;
  /** Where the metrics go. Default a fresh registry, returned as `registry` for you to expose. */
  registry?: Registry;
  /** Clock for certificate validity checks. Default `() => new Date()`. */
  now?: () => Date;
}

/**
 * The certificate an endpoint presents now.
 *
 * @example
 * ```ts
 * const { serialNumber, notAfter } = tls.certificate!;
 * ```
 */
export interface ServedCertificate {
  /** 1 at start, +1 per applied rotation. */
  readonly version: number;
  readonly serialNumber: string;
  readonly spiffeId?: string;
  readonly notAfter: Date;
}

/**
 * The outcome of one reload (file mode: after a file change, the periodic re-read, SIGHUP or `reload()`).
 *
 * @example
 * ```ts
 * tls.onReload((result: ReloadResult) => {
 *   if (result.status === 'rejected') pager.notify(`TLS reload rejected: ${result.error?.message}`);
 * });
 * ```
 */
export interface ReloadResult {
  readonly status: 'applied' | 'unchanged' | 'rejected';
  /** `watch`, `poll`, `sighup`, `manual` or `update` (an in-memory identity). */
  readonly trigger: string;
  /** The certificate served after this reload (the old one when rejected). */
  readonly certificate?: ServedCertificate;
  /** Why new material was rejected. */
  readonly error?: SigilError;
}
