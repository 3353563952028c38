import { readFileSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import { describeFileError } from '@sigil/pki';
import {
  invalidSetting,
  parseDurationMs,
  resolveSettings,
  sourceLabel,
  type SettingSource,
} from '@sigil/settings';
import type { AdminClientOptions } from './admin-client';

/** The longest `--timeout`: 10 minutes. */
const MAX_TIMEOUT_MS = 600_000;

/**
 * The settings of every `sigil admin` command: where the admin API is, the admin token, and how
 * long to wait. docs/cli.md's table is generated from it (`pnpm docs:settings`).
 *
 * @example
 * ```ts
 * const { values } = resolveSettings(ADMIN_SETTINGS, { env: process.env });
 * values.adminUrl; // 'http://127.0.0.1:8080' unless SIGIL_ADMIN_URL says otherwise
 * ```
 */
export const ADMIN_SETTINGS = {
  adminUrl: {
    env: 'SIGIL_ADMIN_URL',
    flag: 'admin-url',
    parse: parseAdminUrl,
    default: 'http://127.0.0.1:8080',
    help: "the controller's admin API: `http://` or `https://` and its `ADMIN_LISTEN_ADDR`",
  },
  adminToken: {
    env: 'SIGIL_ADMIN_TOKEN',
    flag: 'admin-token',
    parse: (raw: string) => raw,
    secret: true,
    help: 'the admin token (the flag is visible in `ps` and shell history: `sigil` warns; prefer the variable or `SIGIL_ADMIN_TOKEN_FILE`)',
  },
  adminTokenFile: {
    env: 'SIGIL_ADMIN_TOKEN_FILE',
    flag: 'admin-token-file',
    parse: (raw: string) => raw,
    help: 'a file holding the admin token (surrounding white space ignored); instead of `SIGIL_ADMIN_TOKEN`',
  },
  adminCa: {
    env: 'SIGIL_ADMIN_CA',
    flag: 'admin-ca',
    parse: (raw: string) => raw,
    help: "PEM file of the CA an `https://` admin API's certificate must chain to (the controller's `DATA_DIR/bootstrap-ca.crt`, or the CA of its `ADMIN_TLS_CERT_FILE`); default: the system's roots",
  },
  timeout: {
    env: 'SIGIL_ADMIN_TIMEOUT',
    flag: 'timeout',
    parse: (raw: string, at: string) => {
      const ms = parseDurationMs(raw, at);
      if (ms < 1 || ms > MAX_TIMEOUT_MS)
        throw invalidSetting(at, 'must be between 1ms and 10m', { value: raw });
      return ms;
    },
    default: 10_000,
    defaultText: '10s',
    help: 'how long one admin API request may take before `sigil` gives up (exit 3)',
  },
} as const;

/**
 * The flags of {@link ADMIN_SETTINGS} as commander hands them to an action.
 *
 * @example
 * ```ts
 * const flags: AdminFlags = { adminUrl: 'http://10.0.0.5:8080', timeout: '30s' };
 * ```
 */
export type AdminFlags = Partial<Record<keyof typeof ADMIN_SETTINGS, string>>;

/**
 * What {@link resolveAdminConnection} found: client options, and warnings for standard error.
 *
 * @example
 * ```ts
 * const { client, warnings }: AdminConnection = resolveAdminConnection(flags, process.env);
 * ```
 */
export interface AdminConnection {
  client: AdminClientOptions;
  warnings: string[];
}

/**
 * Resolves the admin URL, token and timeout from flags and the environment. The token comes
 * from `SIGIL_ADMIN_TOKEN`, `SIGIL_ADMIN_TOKEN_FILE` or their flags; a flag beats a variable, and
 * two sources at the same level are refused rather than guessed between.
 *
 * @example
 * ```ts
 * const { client } = resolveAdminConnection({}, { SIGIL_ADMIN_TOKEN_FILE: '/etc/sigil/admin-token' });
 * const admin = createAdminClient(client);
 * ```
 */
export function resolveAdminConnection(
  flags: AdminFlags,
  env: Readonly<Record<string, string | undefined>>,
): AdminConnection {
  const { values, sources } = resolveSettings(ADMIN_SETTINGS, { env, flags });
  const warnings: string[] = [];
  const token = chooseToken(
    values.adminToken === undefined
      ? undefined
      : { value: values.adminToken, source: sources.adminToken! },
    values.adminTokenFile === undefined
      ? undefined
      : { value: values.adminTokenFile, source: sources.adminTokenFile! },
  );
  if (sources.adminToken?.kind === 'flag' && token.fromFile === undefined)
    warnings.push(
      'warning: --admin-token is visible to other users (ps) and in shell history; prefer SIGIL_ADMIN_TOKEN or SIGIL_ADMIN_TOKEN_FILE',
    );
  const ca =
    values.adminCa === undefined ? undefined : readAdminCa(values.adminCa, sources.adminCa!);
  return {
    client: {
      url: values.adminUrl,
      token: token.value,
      ...(ca === undefined ? {} : { caPem: ca.pem, caSource: ca.label }),
      timeoutMs: values.timeout,
      urlSource:
        sources.adminUrl?.kind === 'default'
          ? 'the default; set SIGIL_ADMIN_URL or --admin-url'
          : sourceLabel(sources.adminUrl!),
      tokenSource: token.fromFile === undefined ? token.label : `${token.label} ${token.fromFile}`,
    },
    warnings,
  };
}

interface TokenCandidate {
  value: string;
  source: SettingSource;
}

function chooseToken(
  inline: TokenCandidate | undefined,
  file: TokenCandidate | undefined,
): { value: string; label: string; fromFile?: string } {
  if (inline !== undefined && file !== undefined) {
    const inlineFlag = inline.source.kind === 'flag';
    const fileFlag = file.source.kind === 'flag';
    if (inlineFlag === fileFlag)
      throw new SigilError(
        'ERR_CONFIG_INVALID',
        `${sourceLabel(inline.source)} and ${sourceLabel(file.source)} are both set; set one of them`,
        { details: { variables: [sourceLabel(inline.source), sourceLabel(file.source)] } },
      );
    return inlineFlag ? fromInline(inline) : fromFile(file);
  }
  if (inline !== undefined) return fromInline(inline);
  if (file !== undefined) return fromFile(file);
  throw new SigilError(
    'ERR_CONFIG_MISSING',
    'no admin token: set SIGIL_ADMIN_TOKEN (or SIGIL_ADMIN_TOKEN_FILE to a file holding it) to the token the controller printed at its first start or was given',
    { details: { variable: 'SIGIL_ADMIN_TOKEN' } },
  );
}

function fromInline(candidate: TokenCandidate): { value: string; label: string } {
  return { value: candidate.value, label: sourceLabel(candidate.source) };
}

function fromFile(candidate: TokenCandidate): { value: string; label: string; fromFile: string } {
  const label = sourceLabel(candidate.source);
  let text: string;
  try {
    text = readFileSync(candidate.value, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNREADABLE',
      `${label} ${candidate.value}: cannot read (${describeFileError(cause)})`,
      { cause, details: { file: candidate.value, variable: label } },
    );
  }
  const value = text.trim();
  if (value === '')
    throw invalidSetting(label, `${candidate.value} is empty`, {
      details: { file: candidate.value },
    });
  return { value, label, fromFile: candidate.value };
}

function readAdminCa(path: string, source: SettingSource): { pem: string; label: string } {
  const label = `${sourceLabel(source)} ${path}`;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNREADABLE',
      `${label}: cannot read (${describeFileError(cause)})`,
      {
        cause,
        details: { file: path, variable: sourceLabel(source) },
      },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw invalidSetting(sourceLabel(source), `${path} holds no PEM certificate`, {
      details: { file: path },
    });
  return { pem, label };
}

function parseAdminUrl(raw: string, at: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidSetting(at, 'is not a URL (expected http://HOST:PORT)', { value: raw });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidSetting(at, 'must be an http:// or https:// URL', { value: raw });
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
    throw invalidSetting(at, 'must not carry credentials, a query or a fragment', {
      value: `${url.protocol}//${url.host}${url.pathname}`,
    });
  return url.href.replace(/\/+$/, '');
}
