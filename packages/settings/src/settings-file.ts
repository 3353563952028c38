import { readFileSync } from 'node:fs';
import { SigilError, type SigilErrorCode } from '@sigil/errors';
import { parse as parseYaml } from 'yaml';
import type { SettingsTable } from './setting';

/**
 * A YAML settings file read against a table: the raw text of each setting, by YAML path.
 *
 * @example
 * ```ts
 * const file: SettingsFile = readSettingsFile('/etc/sigil/agent.yaml', AGENT_TABLE);
 * file.values.get('controller.addr'); // '10.0.0.5:8443'
 * ```
 */
export interface SettingsFile {
  /** The path as given, for messages. */
  readonly path: string;
  /** YAML path to raw text; lists are joined with commas. */
  readonly values: ReadonlyMap<string, string>;
}

/**
 * Options of {@link readSettingsFile}.
 *
 * @example
 * ```ts
 * readSettingsFile(path, table, { readPath: resolve(cwd, path), unreadableCode: 'ERR_CONFIG_INVALID' });
 * ```
 */
export interface ReadSettingsFileOptions {
  /** Where to read from when `path` (as shown in messages) is relative to another directory. */
  readPath?: string;
  /** The code of an unreadable file. Default `ERR_FILE_UNREADABLE`. */
  unreadableCode?: SigilErrorCode;
}

/**
 * Reads a YAML settings file: nested mappings are flattened to dotted paths (`controller.addr`),
 * lists become comma-separated text. A key no setting of `table` declares is an
 * `ERR_CONFIG_INVALID` naming the file and key, so a typo is never silently ignored.
 *
 * @example
 * ```ts
 * const file = readSettingsFile('controller.yaml', CONTROLLER_SETTINGS);
 * resolveSettings(CONTROLLER_SETTINGS, { env: process.env, file });
 * ```
 */
export function readSettingsFile(
  path: string,
  table: SettingsTable,
  options: ReadSettingsFileOptions = {},
): SettingsFile {
  const readPath = options.readPath ?? path;
  let text: string;
  try {
    text = readFileSync(readPath, 'utf8');
  } catch (cause) {
    throw new SigilError(
      options.unreadableCode ?? 'ERR_FILE_UNREADABLE',
      `config file ${path}: cannot read ${readPath} (${(cause as Error).message})`,
      { cause, details: { file: path } },
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `config file ${path}: not valid YAML (${(cause as Error).message.split('\n')[0]})`,
      { cause, details: { file: path } },
    );
  }
  const values = new Map<string, string>();
  if (document === null || document === undefined) return { path, values };
  if (!isMapping(document))
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `config file ${path}: expected a mapping of settings`,
      {
        details: { file: path },
      },
    );
  const known = Object.values(table)
    .map((setting) => setting.yaml)
    .filter((key): key is string => key !== undefined);
  const visit = (node: unknown, key: string): void => {
    if (isMapping(node)) {
      for (const [child, value] of Object.entries(node))
        visit(value, key === '' ? child : `${key}.${child}`);
      return;
    }
    if (!known.includes(key))
      throw new SigilError(
        'ERR_CONFIG_INVALID',
        `config file ${path}: unknown key "${key}" (known: ${known.join(', ')})`,
        { details: { file: path, key } },
      );
    if (node === null) return;
    if (Array.isArray(node)) values.set(key, node.map(String).join(','));
    else if (typeof node === 'object')
      throw new SigilError('ERR_CONFIG_INVALID', `config file ${path}: "${key}" must be a value`, {
        details: { file: path, key },
      });
    else values.set(key, String(node));
  };
  visit(document, '');
  return { path, values };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
