import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { SigilError } from '@sigil/errors';
import { parseDocument } from 'yaml';
import { invalidSetting } from '@sigil/settings';
import { TLS_INVALID, type Sourced } from './values';

/** Keys accepted in the YAML `tls` section, and their types. */
const KEYS = {
  mode: 'string',
  enabled: 'boolean',
  dir: 'string',
  server_cert_path: 'string',
  server_key_path: 'string',
  client_ca_cert_path: 'string',
  require_client_cert: 'boolean',
  client_cert: 'string',
  ca_cert_path: 'string',
  client_cert_path: 'string',
  client_key_path: 'string',
  server_name: 'string',
  server_spiffe_id: 'string-list',
  insecure_skip_verify: 'boolean',
  min_version: 'string',
  ciphers: 'string',
  cert_warn_days: 'number',
  watch: 'boolean',
  reload_debounce_ms: 'number',
  poll_interval_ms: 'number',
  reload_on_sighup: 'boolean',
} as const;

type KeyType = (typeof KEYS)[keyof typeof KEYS];
type ValueOf<T extends KeyType> = T extends 'string'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends 'number'
      ? number
      : string[];

/** The TLS section of a YAML file, each value with its origin (`<file>: tls.<key>`). */
export type YamlTlsSection = {
  -readonly [K in keyof typeof KEYS]?: Sourced<ValueOf<(typeof KEYS)[K]>>;
} & {
  /** The file, for messages. */
  readonly file: string;
  /** The file's directory: relative paths in it resolve against this. */
  readonly baseDir: string;
};

/**
 * Reads the TLS section (`section`, a dotted path such as `tls` or `controller.tls`) of a YAML
 * config file. A missing section yields no settings; unknown keys and wrongly typed values are
 * errors naming the file and key, so a typo never silently weakens TLS.
 */
export function readYamlTlsSection(file: Sourced<string>, section: string): YamlTlsSection {
  let text: string;
  try {
    text = readFileSync(file.value, 'utf8');
  } catch (cause) {
    throw new SigilError(
      'ERR_FILE_UNREADABLE',
      `${file.origin}: cannot read ${file.value} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`,
      {
        cause,
        details: { variable: file.origin, file: file.value },
      },
    );
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new SigilError(
      'ERR_TLS_CONFIG_INVALID',
      `${file.value}: not valid YAML (${doc.errors[0]!.message})`,
      {
        details: { variable: file.origin, file: file.value },
      },
    );
  }
  let node: unknown = doc.toJS();
  for (const part of section.split('.')) {
    node = isRecord(node) ? node[part] : undefined;
  }
  const result: YamlTlsSection = { file: file.value, baseDir: dirname(file.value) };
  if (node === undefined || node === null) return result;
  if (!isRecord(node))
    throw invalidSetting(
      `${file.value}: ${section}`,
      'must be a mapping of TLS settings',
      TLS_INVALID,
    );
  for (const [key, value] of Object.entries(node)) {
    const origin = `${file.value}: ${section}.${key}`;
    if (!(key in KEYS))
      throw invalidSetting(
        origin,
        `unknown TLS setting (known: ${Object.keys(KEYS).join(', ')})`,
        TLS_INVALID,
      );
    if (value === null || value === undefined) continue;
    const type = KEYS[key as keyof typeof KEYS];
    (result as Record<string, unknown>)[key] = { value: coerce(value, type, origin), origin };
  }
  return result;
}

function coerce(value: unknown, type: KeyType, origin: string): unknown {
  switch (type) {
    case 'string':
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      throw invalidSetting(origin, 'must be a string', TLS_INVALID);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      throw invalidSetting(origin, 'must be true or false', TLS_INVALID);
    case 'number':
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
      throw invalidSetting(origin, 'must be a non-negative integer', TLS_INVALID);
    case 'string-list':
      if (typeof value === 'string') return [value];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
      throw invalidSetting(origin, 'must be a string or a list of strings', TLS_INVALID);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
