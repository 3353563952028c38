// The judgement of `sigil doctor tls`: pure functions over the facts gather-tls collected.
import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { isSigilError } from '@sigil/errors';
import type { MaterialSources } from '@sigil/grpc-tls';
import { assertKeyMatchesCertificate } from '@sigil/pki';
import { describeCertificate } from '../internal/certificate-details';
import { fail, pass, warn } from './catalogue';
import type { DoctorCheckResult, FactError } from './catalogue';
import { chainChecks, expiryCheck } from './certificate-checks';
import type { TlsFacts, TlsFileFacts } from './gather-tls';

/**
 * A `--target HOST:PORT`: the address clients dial.
 *
 * @example
 * ```ts
 * const target: DoctorTarget = { host: 'api.internal', port: 8443 };
 * doctorTls({ env: process.env, target });
 * ```
 */
export interface DoctorTarget {
  /** A DNS name or an IP address (IPv6 without brackets). */
  host: string;
  /** The TCP port. */
  port: number;
}

/** Settings of {@link checkTls}. */
export interface TlsCheckOptions {
  now: Date;
  /** The name clients dial, checked against the certificate's SANs. */
  target?: DoctorTarget;
}

const RENEW = 'renew it (cert-manager, the controller, or sigil certs issue)';

/** Every check of `sigil doctor tls`, in order; a check whose input is missing is left out. */
export function checkTls(facts: TlsFacts, options: TlsCheckOptions): DoctorCheckResult[] {
  if ('error' in facts.settings) {
    return [
      fail(
        'tls-settings',
        facts.settings.error.message,
        'set or correct the variable the message names (docs/grpc-tls.md lists every convention)',
      ),
    ];
  }
  const { config } = facts.settings;
  const results: DoctorCheckResult[] = [
    pass(
      'tls-settings',
      `${facts.side} settings from ${config.source}, mode ${config.mode}` +
        ('clientCertificate' in config ? `, client certificates: ${config.clientCertificate}` : ''),
    ),
    ...config.warnings.map((w) =>
      warn('tls-settings', w.message, `review ${w.variables.join(', ')}`),
    ),
  ];
  if (config.mode === 'dev') {
    results.push(
      warn(
        'tls-mode',
        'dev mode: a throwaway CA and a 24 h certificate for localhost, trusted by nobody else',
        'outside local development name the files: GRPC_TLS_DIR, or GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA',
      ),
    );
  } else if (config.mode === 'insecure') {
    results.push(
      warn(
        'tls-mode',
        'plaintext: no TLS, no certificate to check',
        'unset SIGIL_TLS_MODE=insecure (or <PREFIX>TLS_MODE=disabled) and name the certificate files',
      ),
    );
  } else {
    results.push(pass('tls-mode', `mode ${config.mode}`));
  }
  const certificate = fileChecks(facts.certificate, results, 'certificate');
  const key = fileChecks(facts.privateKey, results, 'key');
  const ca = fileChecks(facts.ca, results, 'ca');
  const sources: MaterialSources = {
    certificate: describe(facts.certificate, 'certificate'),
    privateKey: describe(facts.privateKey, 'private key'),
    ca: describe(facts.ca, 'CA bundle'),
  };
  if (certificate && key) {
    try {
      assertKeyMatchesCertificate(key, certificate[0]!, {
        keySource: sources.privateKey,
        certificateSource: sources.certificate,
      });
      results.push(
        pass('key-matches-certificate', "the key is the certificate's", sources.privateKey),
      );
    } catch (err) {
      if (!isSigilError(err)) throw err;
      results.push(
        fail(
          'key-matches-certificate',
          err.message,
          'install the key issued with this certificate, or issue a new pair (a renewal writes both)',
          sources.privateKey,
        ),
      );
    }
  }
  if (certificate && ca) results.push(...chainChecks(certificate, ca, options.now, sources));
  if (certificate)
    results.push(
      expiryCheck(certificate, options.now, config.warnDays, {
        subject: sources.certificate,
        renew: RENEW,
      }),
    );
  if (ca)
    results.push(
      expiryCheck(ca, options.now, config.warnDays, {
        subject: sources.ca,
        renew: 'rotate the CA: add the new root to the bundle, then reissue',
      }),
    );
  if (certificate && options.target)
    results.push(targetCheck(certificate[0]!, options.target, options.now));
  return results;
}

/** The name clients dial against the leaf's SANs, the way TLS clients match it. */
export function targetCheck(
  leaf: X509Certificate,
  target: DoctorTarget,
  now: Date,
): DoctorCheckResult {
  const subject = `${target.host}:${target.port}`;
  const ip = isIP(target.host) !== 0;
  const matched = ip ? leaf.checkIP(target.host) : leaf.checkHost(target.host);
  if (matched !== undefined)
    return pass('target-name', `${target.host} is a SAN of the certificate`, subject);
  const sans = describeCertificate(leaf, now).subjectAltNames;
  const listed = [...sans.dns.map((n) => `DNS:${n}`), ...sans.ip.map((n) => `IP:${n}`)];
  return fail(
    'target-name',
    `${target.host} is not among the certificate's names (${listed.length > 0 ? listed.join(', ') : 'no DNS or IP SAN'}): clients dialling ${subject} refuse it`,
    `reissue the certificate with ${ip ? '--ip' : '--dns'} ${target.host}, or dial a name it has (or set the client's server name: GRPC_SERVER_DOMAIN)`,
    subject,
  );
}

/** file-readable, file-mode and pem-well-formed for one file; returns what it holds when it parsed. */
function fileChecks<T>(
  file: TlsFileFacts<T> | undefined,
  results: DoctorCheckResult[],
  role: 'certificate' | 'key' | 'ca',
): T | undefined {
  if (file === undefined) return undefined;
  const subject = describe(file, role);
  if ('error' in file.read && file.read.error.code === 'ERR_FILE_UNREADABLE') {
    results.push(
      fail(
        'file-readable',
        file.read.error.message,
        `check the path set by ${file.origin} and that this user can read it: ls -l ${file.path}`,
        subject,
      ),
    );
    return undefined;
  }
  const mode = file.mode === undefined ? '' : `mode ${file.mode.toString(8).padStart(4, '0')}`;
  results.push(pass('file-readable', `readable${mode ? `, ${mode}` : ''}`, subject));
  if (file.permission) {
    results.push(
      fail(
        'file-mode',
        file.permission.message,
        `chmod 600 ${file.path} (a Kubernetes Secret volume: defaultMode 0400, or 0440 with fsGroup)`,
        subject,
      ),
    );
  } else if (role !== 'key' && file.mode !== undefined && (file.mode & 0o022) !== 0) {
    results.push(
      warn(
        'file-mode',
        `${mode}: group or other users can replace the ${role === 'ca' ? 'trust bundle' : 'certificate'}`,
        `chmod 644 ${file.path}`,
        subject,
      ),
    );
  } else if (file.mode !== undefined) {
    results.push(pass('file-mode', mode, subject));
  }
  if ('error' in file.read) {
    results.push(
      fail('pem-well-formed', file.read.error.message, pemFix(file.read.error, role), subject),
    );
    return undefined;
  }
  results.push(pass('pem-well-formed', describeContent(file.read.value), subject));
  return file.read.value;
}

function pemFix(error: FactError, role: 'certificate' | 'key' | 'ca'): string {
  if (error.code === 'ERR_BUNDLE_INVALID')
    return 'keep only CA certificates in the bundle; the leaf and intermediates go in the certificate file';
  if (error.code === 'ERR_KEY_UNSUPPORTED')
    return 'use an EC P-256/P-384, RSA (2048 bits or more) or Ed25519 key';
  return role === 'key'
    ? 'replace the file with the PEM private key (-----BEGIN PRIVATE KEY-----) issued with the certificate'
    : 'replace the file with PEM certificates (-----BEGIN CERTIFICATE-----), leaf first';
}

function describeContent(value: unknown): string {
  if (Array.isArray(value)) return `${value.length} certificate${value.length === 1 ? '' : 's'}`;
  return `a ${(value as { keyType: string }).keyType} private key`;
}

function describe(file: TlsFileFacts<unknown> | undefined, what: string): string {
  return file === undefined ? what : `${file.origin} (${file.path})`;
}
