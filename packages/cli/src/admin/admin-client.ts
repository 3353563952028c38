import { Agent, fetch, type Dispatcher, type Response } from 'undici';
import { SigilError, isSigilErrorCode } from '@sigil/errors';

/**
 * Options of {@link createAdminClient}.
 *
 * @example
 * ```ts
 * const options: AdminClientOptions = { url: 'http://127.0.0.1:8080', token: process.env.SIGIL_ADMIN_TOKEN!, timeoutMs: 5000 };
 * ```
 */
export interface AdminClientOptions {
  /** Base URL of the admin API, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The admin bearer token. */
  token: string;
  /** How long one request may take. Default 10 s. */
  timeoutMs?: number;
  /** Where the URL came from, named in "cannot reach" errors. Default `SIGIL_ADMIN_URL`. */
  urlSource?: string;
  /** Where the token came from, named in 401 errors. Default `SIGIL_ADMIN_TOKEN`. */
  tokenSource?: string;
  /**
   * PEM CA certificates an `https://` admin API's certificate must chain to, instead of the
   * system's roots (`SIGIL_ADMIN_CA`: the controller's `bootstrap-ca.crt`).
   */
  caPem?: string;
  /** Where {@link AdminClientOptions.caPem} came from, named in certificate errors. Default `SIGIL_ADMIN_CA`. */
  caSource?: string;
}

/**
 * An HTTP method the admin API answers.
 *
 * @example
 * ```ts
 * const method: AdminMethod = 'DELETE';
 * ```
 */
export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/**
 * A client of the controller's admin API (docs/admin-api.md).
 *
 * @example
 * ```ts
 * const connectors = await client.request<{ id: string; status: string }[]>('GET', '/api/admin/connectors');
 * ```
 */
export interface AdminClient {
  /**
   * Sends one request (a JSON body when given) and resolves with the JSON answer (`undefined`
   * for an empty one); rejects with a `SigilError` (see {@link createAdminClient}).
   */
  request<T = unknown>(method: AdminMethod, path: string, body?: unknown): Promise<T>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The admin API's RFC 9457 problem body, as far as the client reads it. */
interface Problem {
  code?: unknown;
  error?: unknown;
  reason?: unknown;
  detail?: unknown;
  field?: unknown;
}

/**
 * Creates a client of the admin API on Node's built-in `fetch`, with a bounded timeout per
 * request. Every failure is one `SigilError` naming what to fix: `ERR_CONTROLLER_UNREACHABLE`
 * (nothing answers at the URL, or not in time; names `SIGIL_ADMIN_URL`), `ERR_ADMIN_UNAUTHORIZED`
 * (401; names `SIGIL_ADMIN_TOKEN`), the problem body's own code for other 4xx (its `detail` and
 * `field` in the message), and `ERR_ADMIN_API_FAILED` for a 5xx or an answer that is not the
 * admin API's JSON.
 *
 * @example
 * ```ts
 * import { createAdminClient } from '@sigil/cli';
 *
 * const admin = createAdminClient({ url: 'http://127.0.0.1:8080', token: process.env.SIGIL_ADMIN_TOKEN! });
 * const { token } = await admin.request<{ token: string }>('POST', '/api/admin/tokens', { kind: 'connector', id: 'edge-1' });
 * ```
 */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const urlSource = options.urlSource ?? 'SIGIL_ADMIN_URL';
  const tokenSource = options.tokenSource ?? 'SIGIL_ADMIN_TOKEN';
  const dispatcher: Dispatcher | undefined =
    options.caPem === undefined ? undefined : new Agent({ connect: { ca: options.caPem } });
  const tls = {
    url: options.url,
    caSource: options.caPem === undefined ? undefined : (options.caSource ?? 'SIGIL_ADMIN_CA'),
  };
  return {
    async request<T>(method: AdminMethod, path: string, body?: unknown): Promise<T> {
      const target = new URL(path.replace(/^\/+/, ''), base);
      const what = `${method} ${target.pathname}${target.search}`;
      let response: Response;
      let text: string;
      try {
        response = await fetch(target, {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: 'application/json, application/problem+json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          redirect: 'error',
          signal: AbortSignal.timeout(timeoutMs),
          ...(dispatcher === undefined ? {} : { dispatcher }),
        });
        text = await response.text();
      } catch (cause) {
        throw new SigilError(
          'ERR_CONTROLLER_UNREACHABLE',
          `cannot reach the admin API at ${options.url} (${urlSource}): ${networkReason(cause, timeoutMs, tls)}`,
          { cause, details: { url: options.url, variable: 'SIGIL_ADMIN_URL' } },
        );
      }
      const json = parseJson(text);
      if (response.ok) {
        if (text === '') return undefined as T;
        if (json === undefined) throw notAdminApi(what, response, options.url);
        return json as T;
      }
      throw problemError(what, response, json, { url: options.url, tokenSource });
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Certificate verification failures (OpenSSL's codes as Node reports them). */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
]);

function networkReason(
  cause: unknown,
  timeoutMs: number,
  tls: { url: string; caSource: string | undefined },
): string {
  // Duck-typed: fetch's errors may come from another realm (vm contexts, test runners).
  const error = cause as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  if (error?.name === 'TimeoutError' || error?.name === 'AbortError')
    return `no answer within ${timeoutMs} ms (SIGIL_ADMIN_TIMEOUT)`;
  const inner = error?.cause;
  if (inner?.code === 'ECONNREFUSED') return 'connection refused (is the controller running?)';
  if (inner?.code === 'ENOTFOUND' || inner?.code === 'EAI_AGAIN') return 'no such host';
  if (typeof inner?.code === 'string' && UNTRUSTED_CERTIFICATE.has(inner.code))
    return tls.caSource === undefined
      ? `the admin API's certificate is not trusted (${inner.code}): set SIGIL_ADMIN_CA to the controller's bootstrap CA (DATA_DIR/bootstrap-ca.crt), or to the CA of its ADMIN_TLS_CERT_FILE`
      : `the admin API's certificate does not chain to ${tls.caSource} (${inner.code}): point it at the controller's bootstrap CA (DATA_DIR/bootstrap-ca.crt), or at the CA of its ADMIN_TLS_CERT_FILE`;
  if (inner?.code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `the admin API's certificate does not name the host of the URL (${String(inner.message)}): add the name to the controller's CONTROLLER_SERVER_NAMES, or use a name it has`;
  if (tls.url.startsWith('http://') && inner?.code === 'UND_ERR_SOCKET')
    return 'the connection closed before an answer: if the controller serves HTTPS (ADMIN_TLS), use an https:// URL';
  if (typeof inner?.message === 'string') return inner.message;
  return typeof error?.message === 'string' ? error.message : String(cause);
}

function notAdminApi(what: string, response: Response, url: string): SigilError {
  const type = response.headers.get('content-type') ?? 'no content type';
  return new SigilError(
    'ERR_ADMIN_API_FAILED',
    `${what}: HTTP ${response.status} with a ${type} body, not the admin API's JSON: is SIGIL_ADMIN_URL (${url}) the controller's ADMIN_LISTEN_ADDR?`,
    { details: { status: response.status, url } },
  );
}

function problemError(
  what: string,
  response: Response,
  json: unknown,
  context: { url: string; tokenSource: string },
): SigilError {
  const problem: Problem = typeof json === 'object' && json !== null ? (json as Problem) : {};
  const reason = stringField(problem.detail) ?? stringField(problem.reason);
  const field = stringField(problem.field);
  const apiCode = stringField(problem.code);
  const details = {
    status: response.status,
    ...(apiCode === undefined ? {} : { apiCode }),
    ...(field === undefined ? {} : { field }),
  };
  const said = `${reason ?? stringField(problem.error) ?? response.statusText}${field === undefined ? '' : ` (field ${field})`}`;
  if (response.status === 401)
    return new SigilError(
      'ERR_ADMIN_UNAUTHORIZED',
      `${what}: the admin API refused the admin token from ${context.tokenSource} (${said}); set SIGIL_ADMIN_TOKEN or SIGIL_ADMIN_TOKEN_FILE to the controller's admin token`,
      { details },
    );
  if (response.status >= 500 || json === undefined)
    return new SigilError(
      'ERR_ADMIN_API_FAILED',
      `${what}: the admin API at ${context.url} answered HTTP ${response.status}: ${said}${apiCode === undefined ? '' : ` (${apiCode})`}`,
      { details },
    );
  return new SigilError(
    apiCode !== undefined && isSigilErrorCode(apiCode) ? apiCode : 'ERR_REQUEST_INVALID',
    `${what}: ${said}`,
    { details },
  );
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
