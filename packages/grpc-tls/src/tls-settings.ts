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
      if (text === 'file' || text === 'dev' || text === 'insecure' || text === 'spiffe')
        return text;
      throw invalidSetting(
        at,
        `"${raw}" is not a TLS mode (use file, dev, insecure or spiffe)`,
        TLS_INVALID,
      );
    },
    default: 'file' as Exclude<TlsMode, 'memory'>,
    help: '`file`, `dev`, `insecure` or `spiffe` (see [Modes](#modes))',
  },
  spiffeEndpointSocket: {
    env: 'SPIFFE_ENDPOINT_SOCKET',
    parse: (raw: string): string => raw.trim(),
    help: "mode `spiffe`: the SPIFFE Workload API, `unix:///path` (a Sigil connector's `SIGIL_WORKLOAD_API_SOCKET`, or SPIRE's agent socket); `<P>SPIFFE_SOCKET` (`UNKEY_METALD_SPIFFE_SOCKET`) beats it",
  },
  configFile: {
    env: 'SIGIL_TLS_CONFIG',
    parse: (raw: string): string => raw,
    help: 'path of a YAML file with the TLS settings (see below)',
  },
  prefix: {
    env: 'SIGIL_TLS_PREFIX',
    parse: (raw: string, at: string): string => {
      const text = raw.trim();
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(text))
        throw invalidSetting(
          at,
          `"${raw}" is not an env var prefix (letters, digits, _)`,
          TLS_INVALID,
        );
      return text.endsWith('_') ? text : `${text}_`;
    },
    help: 'prefix of a prefixed convention, without code: `MIGLET_CONTROLLER_`, `PARALLAX_`, `UNKEY_METALD_` (a trailing `_` is added); the option `prefix` beats it',
  },
  name: {
    env: 'SIGIL_TLS_NAME',
    parse: (raw: string): string => raw,
    help: 'the entry of `<P>CERTS_DIR` to read (`control-plane` reads `<P>CERTS_DIR/control-plane/cert.pem`, `key.pem`, `ca.pem`); the option `name` beats it',
  },
  configSection: {
    env: 'SIGIL_TLS_CONFIG_SECTION',
    parse: (raw: string, at: string): string => {
      const text = raw.trim();
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(text))
        throw invalidSetting(
          at,
          `"${raw}" is not a dotted YAML path such as controller.tls`,
          TLS_INVALID,
        );
      return text;
    },
    default: 'tls',
    help: 'dotted path of the TLS section in the `SIGIL_TLS_CONFIG` file (MonkCI: `controller.tls`); the option `configSection` beats it',
  },
  requireIssuedByBundle: {
    env: 'SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE',
    yaml: 'tls.require_issued_by_bundle',
    parse: (raw: string, at: string): boolean => parseBoolean(raw, at, TLS_INVALID.code),
    defaultText: 'X509-SVIDs only',
    help: "whether the endpoint's own certificate must chain to the CA bundle it verifies peers with (see [Start-up checks](#start-up-checks)): by default only an X509-SVID (a certificate with a SPIFFE ID) is checked, so a public server certificate with a private client CA starts; `true` checks every certificate, `false` none (an SVID next to another trust domain's bundle)",
  },
  devCaDir: {
    env: 'GRPC_TLS_DEV_CA_DIR',
    yaml: 'tls.dev_ca_dir',
    parse: (raw: string): string => raw,
    help: '`dev` mode: a directory holding the throwaway dev CA (`dev-ca-<trust domain>.pem`, created on first use), so dev servers and clients in different processes trust each other',
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
    help: 'production (trimmed, any case; anything but unset, `development`, `dev`, `test` or `local` counts as production) refuses `dev` mode, and `insecure`/skip-verify without the override',
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
