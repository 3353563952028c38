import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type pino from 'pino';
import { SigilError } from '@sigil/errors';
import { describeFileError, readPrivateKeyFile, type KeyPair } from '@sigil/pki';
import type { HttpEndpointTls } from '@sigil/runtime';

/**
 * `ADMIN_TLS`: `auto` (the default) serves HTTPS unless the admin API is bound to loopback; `on`
 * always serves HTTPS; `off` serves plain HTTP, loudly warned about off loopback.
 *
 * @example
 * ```ts
 * const mode: AdminTlsMode = 'on';
 * ```
 */
export type AdminTlsMode = 'auto' | 'on' | 'off';

/** Every value `ADMIN_TLS` accepts. */
export const ADMIN_TLS_MODES: readonly AdminTlsMode[] = ['auto', 'on', 'off'];

/** What the admin listener serves: the outcome of {@link decideAdminTransport}. */
export type AdminTransport =
  { tls: false; exposed: boolean } | { tls: true; certificate: 'controller' | 'files' };

/** The inputs of {@link decideAdminTransport}. */
export interface AdminTransportInput {
  mode: AdminTlsMode;
  /** The host of `ADMIN_LISTEN_ADDR`. */
  host: string;
  certFile?: string;
  keyFile?: string;
}

/**
 * Decides whether the admin API serves HTTPS, and with which certificate: the operator's files
 * (`ADMIN_TLS_CERT_FILE` and `ADMIN_TLS_KEY_FILE`, which imply TLS) or the controller's own
 * certificate (from the bootstrap CA). Plain HTTP off loopback only with `ADMIN_TLS=off`
 * (`exposed: true`: the caller warns). Conflicting settings throw `ERR_CONFIG_INVALID` naming them.
 *
 * @example
 * ```ts
 * decideAdminTransport({ mode: 'auto', host: '0.0.0.0' }); // { tls: true, certificate: 'controller' }
 * decideAdminTransport({ mode: 'auto', host: '127.0.0.1' }); // { tls: false, exposed: false }
 * ```
 */
export function decideAdminTransport(input: AdminTransportInput): AdminTransport {
  const files = [input.certFile, input.keyFile].filter((file) => file !== undefined).length;
  if (files === 1)
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${input.certFile === undefined ? 'ADMIN_TLS_KEY_FILE' : 'ADMIN_TLS_CERT_FILE'} is set without ${input.certFile === undefined ? 'ADMIN_TLS_CERT_FILE' : 'ADMIN_TLS_KEY_FILE'}: set both (the admin API's certificate chain and its key) or neither`,
      {
        details: {
          variable: input.certFile === undefined ? 'ADMIN_TLS_CERT_FILE' : 'ADMIN_TLS_KEY_FILE',
        },
      },
    );
  if (files === 2) {
    if (input.mode === 'off')
      throw new SigilError(
        'ERR_CONFIG_INVALID',
        'ADMIN_TLS=off but ADMIN_TLS_CERT_FILE and ADMIN_TLS_KEY_FILE are set: unset the files, or set ADMIN_TLS to on or auto',
        { details: { variable: 'ADMIN_TLS' } },
      );
    return { tls: true, certificate: 'files' };
  }
  if (input.mode === 'on' || (input.mode === 'auto' && !isLoopbackHost(input.host)))
    return { tls: true, certificate: 'controller' };
  return { tls: false, exposed: !isLoopbackHost(input.host) };
}

/**
 * True for a loopback host: `localhost`, `::1` or `127.0.0.0/8`.
 *
 * @example
 * ```ts
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0'); // false
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Reads the admin API's certificate chain and key from the operator's files, checking that the
 * key belongs to the first certificate; every problem is one `ERR_CONFIG_INVALID` naming the
 * variable and the file.
 *
 * @example
 * ```ts
 * const tls = readAdminTlsFiles('/etc/sigil/admin.crt', '/etc/sigil/admin.key');
 * ```
 */
export function readAdminTlsFiles(certFile: string, keyFile: string): HttpEndpointTls {
  let certificateChainPem: string;
  let leaf: X509Certificate;
  try {
    certificateChainPem = readFileSync(certFile, 'utf8');
    leaf = new X509Certificate(certificateChainPem);
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `ADMIN_TLS_CERT_FILE ${certFile}: ${isFileError(cause) ? `cannot read (${describeFileError(cause)})` : 'holds no PEM certificate'}`,
      { cause, details: { variable: 'ADMIN_TLS_CERT_FILE', file: certFile } },
    );
  }
  let key: KeyPair;
  try {
    key = readPrivateKeyFile(keyFile, { ownerOnly: true });
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `ADMIN_TLS_KEY_FILE ${keyFile}: ${(cause as Error).message}`,
      { cause, details: { variable: 'ADMIN_TLS_KEY_FILE', file: keyFile } },
    );
  }
  if (!leaf.checkPrivateKey(key.privateKey))
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `ADMIN_TLS_KEY_FILE ${keyFile} is not the key of the first certificate in ADMIN_TLS_CERT_FILE ${certFile} ("${leaf.subject}")`,
      { details: { variable: 'ADMIN_TLS_KEY_FILE', file: keyFile } },
    );
  return { certificateChainPem, privateKeyPem: key.privateKeyPem };
}

function isFileError(cause: unknown): boolean {
  return typeof (cause as { code?: unknown }).code === 'string';
}

/** Options of {@link watchAdminTlsFiles}. */
export interface AdminTlsFileWatchOptions {
  certFile: string;
  keyFile: string;
  /** How often the files' modification times are compared. Default 30 s. */
  intervalMs?: number;
  logger: pino.Logger;
  /** Called with the new pair after both files changed and still form a valid pair. */
  onChange: (tls: HttpEndpointTls) => void;
}

/**
 * Re-reads the operator's admin certificate when its files change (cert-manager or an ACME
 * client replaced them): a valid new pair goes to `onChange`; an invalid one is logged
 * (`controller.admin_tls_reload_failed`) and the served certificate stays. Returns a stop function.
 *
 * @example
 * ```ts
 * const stop = watchAdminTlsFiles({ certFile, keyFile, logger, onChange: (tls) => http.updateTls(tls) });
 * ```
 */
export function watchAdminTlsFiles(options: AdminTlsFileWatchOptions): () => void {
  const stamp = (): string =>
    [options.certFile, options.keyFile]
      .map((file) => {
        try {
          const stats = statSync(file);
          return `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
        } catch {
          return 'missing';
        }
      })
      .join('|');
  let last = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === last) return;
    try {
      options.onChange(readAdminTlsFiles(options.certFile, options.keyFile));
      last = now;
      options.logger.info(
        { event: 'controller.admin_tls_reloaded', certFile: options.certFile },
        'controller.admin_tls_reloaded',
      );
    } catch (err) {
      // Retried on the next tick: a pair caught half-written becomes valid once both are replaced.
      options.logger.warn(
        { event: 'controller.admin_tls_reload_failed', err },
        'controller.admin_tls_reload_failed',
      );
    }
  }, options.intervalMs ?? 30_000);
  timer.unref();
  return () => clearInterval(timer);
}
