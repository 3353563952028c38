import {
  invalidSetting,
  parseBoolean,
  parseNonNegativeInteger,
  type SettingsTable,
} from '@sigil/settings';
import type { ClientCertificateMode, TlsMode } from './tls-config-types';
import { parseClientCertificateMode, parseMinVersion, TLS_INVALID } from './internal/values';

/**
 * The settings every grpc-tls endpoint reads besides its file conventions, declared once: the
 * loaders read and parse them through this table, and the environment table of docs/grpc-tls.md
 * is generated from it (`pnpm docs:settings`). YAML keys sit in the `tls` section.
 *
 * @example
 * ```ts
 * GRPC_TLS_SETTINGS.minVersion.parse('1.3', 'SIGIL_TLS_MIN_VERSION'); // 'TLSv1.3'
 * ```
 */
export const GRPC_TLS_SETTINGS = {
  mode: {
    env: 'SIGIL_TLS_MODE',
    yaml: 'tls.mode',
    parse: (raw: string, at: string): Exclude<TlsMode, 'memory'> => {
      const text = raw.trim().toLowerCase();
      if (text === 'file' || text === 'dev' || text === 'insecure') return text;
      throw invalidSetting(
        at,
        `"${raw}" is not a TLS mode (use file, dev or insecure)`,
        TLS_INVALID,
      );
    },
    default: 'file' as Exclude<TlsMode, 'memory'>,
    help: '`file`, `dev` or `insecure` (see [Modes](#modes))',
  },
  configFile: {
    env: 'SIGIL_TLS_CONFIG',
    parse: (raw: string): string => raw,
    help: 'path of a YAML file with the TLS settings (see below)',
  },
  allowInsecureInProduction: {
    env: 'SIGIL_ALLOW_INSECURE_IN_PRODUCTION',
    parse: (raw: string, at: string): boolean => parseBoolean(raw, at, TLS_INVALID.code),
    default: false,
    help: '`true` lets `insecure` mode and `INSECURE_SKIP_VERIFY` run with `NODE_ENV=production`',
  },
  nodeEnv: {
    env: 'NODE_ENV',
    parse: (raw: string): string => raw,
    help: '`production` refuses `dev` mode, and `insecure`/skip-verify without the override',
  },
  clientCertificate: {
    env: 'GRPC_CLIENT_CERT',
    yaml: 'tls.client_cert',
    parse: parseClientCertificateMode,
    default: 'require' as ClientCertificateMode,
    help: 'server: `require` (mutual TLS), `request` (ask for a client certificate, expose it to handlers only when it verifies; callers without one get through) or `none` (do not ask; warned about). Also `<P>TLS_CLIENT_CERT`; the older `GRPC_REQUIRE_CLIENT_CERT` / `<P>TLS_VERIFY_CLIENT` (`true` = `require`, `false` = `request`, or `none` without a client CA) still work',
  },
  minVersion: {
    env: 'SIGIL_TLS_MIN_VERSION',
    yaml: 'tls.min_version',
    parse: parseMinVersion,
    default: 'TLSv1.2',
    help: '`TLSv1.2` or `TLSv1.3`',
  },
  ciphers: {
    env: 'SIGIL_TLS_CIPHERS',
    yaml: 'tls.ciphers',
    parse: (raw: string): string => raw,
    defaultText: "Node's default",
    help: 'OpenSSL cipher list for TLS 1.2 suites',
  },
  certWarnDays: {
    env: 'SIGIL_TLS_CERT_WARN_DAYS',
    yaml: 'tls.cert_warn_days',
    parse: (raw: string, at: string): number => parseNonNegativeInteger(raw, at, TLS_INVALID.code),
    default: 30,
    help: 'warn at start and at each rotation when the certificate has fewer days left, or less than a third of its lifetime if that comes later',
  },
  dir: {
    env: 'GRPC_TLS_DIR',
    yaml: 'tls.dir',
    parse: (raw: string): string => raw,
    help: 'a cert-manager Secret mount: `tls.crt`, `tls.key`, `ca.crt` (server **and** client)',
  },
} satisfies SettingsTable;
