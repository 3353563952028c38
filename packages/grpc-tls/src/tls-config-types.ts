import type { RotatingIdentity } from './rotating-identity';

/**
 * The TLS versions a Sigil endpoint may require at least (`SIGIL_TLS_MIN_VERSION`, default TLSv1.2).
 *
 * @example
 * ```ts
 * const minVersion: TlsMinVersion = 'TLSv1.3';
 * ```
 */
export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * What a server asks of its clients' certificates (`GRPC_CLIENT_CERT`, option `clientCertificate`):
 *
 * - `require` (the default): mutual TLS. A client without a certificate, or whose certificate
 *   does not verify against the client CA bundle (another CA, expired, wrong key usage), fails
 *   the handshake.
 * - `request`: the server asks for a certificate and verifies any presented one against the
 *   client CA bundle, but the handshake succeeds either way. A call is served with the
 *   certificate in `call.getAuthContext().sslPeerCertificate` only when it verified; a call
 *   without a certificate, or with one that did not verify, has an empty auth context (no peer),
 *   so handlers and `@sigil/interceptors` see an unauthenticated caller. For servers where some
 *   methods are public (enrolment) and the rest need mutual TLS.
 * - `none`: no certificate is asked for; every caller is anonymous (warned about).
 *
 * @example
 * ```ts
 * loadServerTlsConfig({ identity, clientCertificate: 'request' }).clientCertificate; // 'request'
 * ```
 */
export type ClientCertificateMode = 'require' | 'request' | 'none';

/**
 * How an endpoint gets its TLS material. `file` (the default) reads PEM files and reloads them
 * when they change; `dev` makes a throwaway CA (in memory, or in `GRPC_TLS_DEV_CA_DIR` to share it
 * between processes) and certificates (refused when `NODE_ENV` is production in any spelling);
 * `insecure` is plaintext, only when asked for by name (`SIGIL_TLS_MODE=insecure`,
 * `<PREFIX>TLS_MODE=disabled`); `memory` serves a
 * {@link RotatingIdentity} the application feeds; `spiffe` takes the X509-SVID and bundle from the
 * SPIFFE Workload API (`SPIFFE_ENDPOINT_SOCKET`) and follows its rotations.
 *
 * @example
 * ```ts
 * if (config.mode === 'insecure') alertOnCall('gRPC is running without TLS');
 * ```
 */
export type TlsMode = 'file' | 'dev' | 'insecure' | 'memory' | 'spiffe';

/**
 * A file the configuration names, with the setting that named it (env var, option or YAML key).
 *
 * @example
 * ```ts
 * const { path, origin } = loadServerTlsConfig().files!.certificate; // '/etc/grpc-tls/tls.crt', 'GRPC_TLS_DIR'
 * ```
 */
export interface TlsFileSetting {
  readonly path: string;
  readonly origin: string;
}

/**
 * Something worth a warning in the configuration; logged each time credentials are created.
 *
 * @example
 * ```ts
 * for (const w of loadServerTlsConfig().warnings) console.warn(w.event, w.message); // grpc_tls.client_cert_optional ...
 * ```
 */
export interface TlsConfigWarning {
  /** Stable event name for the structured log, e.g. `grpc_tls.client_cert_optional`. */
  readonly event: string;
  readonly message: string;
  /** The settings involved. */
  readonly variables: readonly string[];
}

/**
 * When and how files are re-read for rotation.
 *
 * @example
 * ```ts
 * loadServerTlsConfig({ debounceMs: 1000, pollIntervalMs: 0 }).reload; // { watch: true, debounceMs: 1000, pollIntervalMs: 0, reloadOnSighup: true }
 * ```
 */
export interface TlsReloadSettings {
  /** Watch the files' directories (catches cert-manager's `..data` symlink swap and rewrites). Default true. */
  readonly watch: boolean;
  /** Quiet time after the last change before reloading, so a pair written in two steps is read once. Default 500. */
  readonly debounceMs: number;
  /** Re-read the files this often as a safety net for file systems without change events; 0 disables. Default 60000. */
  readonly pollIntervalMs: number;
  /** Reload on SIGHUP. Default true. */
  readonly reloadOnSighup: boolean;
}

/** What server and client configurations share. */
export interface TlsConfigBase {
  readonly mode: TlsMode;
  /** The convention the material came from, for logs: `GRPC_TLS_DIR`, `the GRPC_SERVER_* variables`, `options`, ... */
  readonly source: string;
  /** The in-memory identity (mode `memory`). */
  readonly identity?: RotatingIdentity;
  /** The Workload API address (mode `spiffe`), e.g. `unix:///run/sigil/workload-api.sock`. */
  readonly spiffeEndpoint?: { readonly address: string; readonly origin: string };
  readonly minVersion: TlsMinVersion;
  /** OpenSSL cipher list (TLS 1.2 suites); Node's default when unset. */
  readonly ciphers?: string;
  /** Warn when the certificate has fewer days left than this. Default 30. */
  readonly warnDays: number;
  readonly reload: TlsReloadSettings;
  /** The SPIFFE ID of the throwaway certificate in `dev` mode. */
  readonly devSpiffeId?: string;
  /** `dev` mode: the directory of the throwaway CA shared by processes (`GRPC_TLS_DEV_CA_DIR`); in memory when unset. */
  readonly devCaDir?: string;
  /**
   * Whether the endpoint's own certificate must chain to its CA bundle. Unset: only an X509-SVID
   * is checked (SPIFFE: a workload's bundle holds its own trust domain's CA), so a public server
   * certificate next to a private client CA starts.
   */
  readonly requireIssuedByBundle?: boolean;
  readonly warnings: readonly TlsConfigWarning[];
}

/**
 * Options shared by {@link loadServerTlsConfig} and {@link loadClientTlsConfig}. Each beats every env var and the YAML file.
 *
 * @example
 * ```ts
 * const options: LoadTlsConfigOptions = { prefix: 'PARALLAX_', name: 'control-plane', minVersion: 'TLSv1.3' };
 * ```
 */
export interface LoadTlsConfigOptions {
  /** The environment to read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prefix of the prefixed conventions, e.g. `MIGLET_CONTROLLER_` or `PARALLAX_` (a trailing `_` is added if missing). Default `SIGIL_TLS_PREFIX`; `''` selects none. */
  prefix?: string;
  /** The entry of a certs directory (`<PREFIX>CERTS_DIR/<name>/cert.pem`), e.g. `control-plane`. Default `SIGIL_TLS_NAME`. */
  name?: string;
  /** YAML config file. Default the `SIGIL_TLS_CONFIG` env var; `false` ignores both. */
  configFile?: string | false;
  /** Dotted path of the TLS section in the YAML file. Default `SIGIL_TLS_CONFIG_SECTION`, else `tls`. */
  configSection?: string;
  /** See {@link TlsConfigBase.requireIssuedByBundle}. Beats `SIGIL_TLS_REQUIRE_ISSUED_BY_BUNDLE`. */
  requireIssuedByBundle?: boolean;
  /** `dev` mode: directory of the throwaway CA shared across processes. Beats `GRPC_TLS_DEV_CA_DIR`. */
  devCaDir?: string;
  mode?: 'file' | 'dev' | 'insecure' | 'spiffe';
  /** Mode `spiffe`: the Workload API address. Beats `<PREFIX>SPIFFE_SOCKET` and `SPIFFE_ENDPOINT_SOCKET`. */
  spiffeEndpointSocket?: string;
  /** Serve this in-memory identity (mode `memory`). */
  identity?: RotatingIdentity;
  /** A cert-manager Secret mount (`tls.crt`, `tls.key`, `ca.crt`). */
  dir?: string;
  certificateFile?: string;
  privateKeyFile?: string;
  caFile?: string;
  minVersion?: TlsMinVersion;
  ciphers?: string;
  warnDays?: number;
  watch?: boolean;
  debounceMs?: number;
  pollIntervalMs?: number;
  reloadOnSighup?: boolean;
  /** SPIFFE ID of the `dev` mode certificate. Default `spiffe://dev.sigil.local/dev/server` (or `/dev/client`). */
  devSpiffeId?: string;
}
