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
  require_issued_by_bundle: 'boolean',
  dev_ca_dir: 'string',
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

/** The dotted path of the section, and the setting that named it (undefined: the default `tls`). */
export interface SectionPath {
  readonly value: string;
  readonly origin: string | undefined;
}

/**
 * Reads the TLS section (`section`, a dotted path such as `tls` or `controller.tls`) of a YAML
 * config file. Unknown keys and wrongly typed values are errors naming the file and key, so a typo
 * never silently weakens TLS. A section that is not there yields no settings only when the file
 * has no TLS section elsewhere either: a named section that is missing, or a default `tls` missing
 * from a file that nests one (MonkCI's `controller.tls`), is an error saying which to select.
 */
export function readYamlTlsSection(file: Sourced<string>, section: SectionPath): YamlTlsSection {
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
  const root: unknown = doc.toJS();
  let node: unknown = root;
  for (const part of section.value.split('.')) {
    node = isRecord(node) ? node[part] : undefined;
  }
  const result: YamlTlsSection = { file: file.value, baseDir: dirname(file.value) };
  if (node === undefined || node === null) {
    const nested = tlsSectionsIn(root, '', 0);
    if (section.origin === undefined && nested.length === 0) return result;
    const named = section.origin
      ? `${section.origin}=${section.value}`
      : `the default section "${section.value}"`;
    throw new SigilError(
      'ERR_TLS_CONFIG_INVALID',
      `${file.origin}=${file.value} has no ${section.value} section (${named})` +
        (nested.length > 0
          ? `; it has ${nested.join(', ')}: set SIGIL_TLS_CONFIG_SECTION=${nested[0]!} (or pass { configSection: '${nested[0]!}' }) to read it`
          : '; name the mapping that holds the TLS settings with SIGIL_TLS_CONFIG_SECTION'),
      {
        details: {
          variable: section.origin ?? 'SIGIL_TLS_CONFIG_SECTION',
          file: file.value,
          sections: nested,
        },
      },
    );
  }
  if (!isRecord(node))
    throw invalidSetting(
      `${file.value}: ${section.value}`,
      'must be a mapping of TLS settings',
      TLS_INVALID,
    );
  for (const [key, value] of Object.entries(node)) {
    const origin = `${file.value}: ${section.value}.${key}`;
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

/** Dotted paths of the mappings called `tls` in a document (`controller.tls`), a few levels deep. */
function tlsSectionsIn(node: unknown, path: string, depth: number): string[] {
  if (!isRecord(node) || depth > 4) return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = path ? `${path}.${key}` : key;
    if (key === 'tls' && isRecord(value)) return [here];
    return tlsSectionsIn(value, here, depth + 1);
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
