import { parseArgs } from 'node:util';
import { SigilError } from '@sigil/errors';
import {
  envNames,
  formatSource,
  sourceLabel,
  type Setting,
  type SettingSource,
  type SettingsTable,
  type SettingsValues,
} from './setting';
import type { SettingsFile } from './settings-file';

/**
 * Where {@link resolveSettings} reads; precedence is flags, then the environment, then the file,
 * then each setting's default.
 *
 * @example
 * ```ts
 * const inputs: SettingsInputs<typeof table> = { env: process.env, flags: { logLevel: 'debug' } };
 * ```
 */
export interface SettingsInputs<T extends SettingsTable> {
  env?: Readonly<Record<string, string | undefined>>;
  /** Flag values by setting key (see {@link parseSettingFlags}). */
  flags?: Partial<Record<keyof T, string | undefined>>;
  file?: SettingsFile;
}

/**
 * A resolved table: the typed values and where each came from.
 *
 * @example
 * ```ts
 * const { values, sources } = resolveSettings(table, { env: process.env });
 * logger.info({ trustDomain: values.trustDomain, from: formatSource(sources.trustDomain) });
 * ```
 */
export interface ResolvedSettings<T extends SettingsTable> {
  readonly values: SettingsValues<T>;
  /** Absent for a setting nothing set and that has no default. */
  readonly sources: Partial<Record<keyof T, SettingSource>>;
}

/**
 * Resolves every setting of `table`: the first of flag, environment variable (canonical name or
 * an alias; two names set to different values is an error naming both), file key and default,
 * parsed by the setting's `parse` with the source named in its errors. Blank values count as
 * unset.
 *
 * @example
 * ```ts
 * const { values } = resolveSettings(
 *   { logLevel: { env: 'LOG_LEVEL', flag: 'log-level', parse: (raw) => raw, default: 'info', help: 'log level' } },
 *   { env: { LOG_LEVEL: 'debug' } },
 * );
 * values.logLevel; // 'debug'
 * ```
 */
export function resolveSettings<T extends SettingsTable>(
  table: T,
  inputs: SettingsInputs<T>,
): ResolvedSettings<T> {
  const values: Record<string, unknown> = {};
  const sources: Partial<Record<keyof T, SettingSource>> = {};
  for (const [key, setting] of Object.entries(table)) {
    const found = rawSetting(setting, inputs, inputs.flags?.[key]);
    if (found === undefined) {
      if (setting.default !== undefined) {
        values[key] = setting.default;
        sources[key as keyof T] = { kind: 'default' };
      }
      continue;
    }
    values[key] = setting.parse(found.raw, sourceLabel(found.source));
    sources[key as keyof T] = found.source;
  }
  return { values: values as SettingsValues<T>, sources };
}

/**
 * The raw text of one setting and its source, before parsing, by the precedence of
 * {@link resolveSettings}; undefined when nothing sets it.
 *
 * @example
 * ```ts
 * rawSetting(table.logLevel, { env: process.env }); // { raw: 'debug', source: { kind: 'env', name: 'LOG_LEVEL' } }
 * ```
 */
export function rawSetting(
  setting: Setting<unknown>,
  inputs: Omit<SettingsInputs<SettingsTable>, 'flags'>,
  flag?: string,
): { raw: string; source: SettingSource } | undefined {
  if (flag !== undefined && flag.trim() !== '')
    return { raw: flag.trim(), source: { kind: 'flag', name: `--${setting.flag ?? '?'}` } };
  const set = envNames(setting)
    .map((name) => ({ name, raw: inputs.env?.[name]?.trim() }))
    .filter((entry): entry is { name: string; raw: string } => !!entry.raw);
  const [first, ...others] = set;
  const conflict = others.find((other) => other.raw !== first!.raw);
  if (conflict !== undefined)
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${first!.name}=${JSON.stringify(first!.raw)} and ${conflict.name}=${JSON.stringify(conflict.raw)} disagree; they name the same setting, set one of them`,
      { details: { variable: first!.name, variables: [first!.name, conflict.name] } },
    );
  if (first !== undefined) return { raw: first.raw, source: { kind: 'env', name: first.name } };
  const fromFile = setting.yaml === undefined ? undefined : inputs.file?.values.get(setting.yaml);
  if (fromFile !== undefined && fromFile.trim() !== '')
    return {
      raw: fromFile.trim(),
      source: { kind: 'file', path: inputs.file!.path, key: setting.yaml! },
    };
  return undefined;
}

/**
 * Options of {@link parseSettingFlags}.
 *
 * @example
 * ```ts
 * const options: ParseSettingFlagsOptions = { program: 'sigil-controller', booleans: ['help'], strings: ['config'] };
 * ```
 */
export interface ParseSettingFlagsOptions {
  /** Named in the error for an unknown flag: `(see <program> --help)`. */
  program: string;
  /** Boolean flags besides the table's, e.g. `help`. */
  booleans?: readonly string[];
  /** String flags besides the table's, e.g. `config`. */
  strings?: readonly string[];
}

/**
 * Parses `argv` against the table's flags (each `--flag <value>`) plus `extra` flags, strictly:
 * an unknown flag is `ERR_CONFIG_INVALID` pointing at `--help`.
 *
 * @example
 * ```ts
 * const { flags, extra } = parseSettingFlags(table, process.argv.slice(2), { program: 'sigil-controller', booleans: ['help'] });
 * if (extra.help === true) process.stdout.write(formatSettingsHelp(table, { usage: 'sigil-controller [flags]' }));
 * ```
 */
export function parseSettingFlags<T extends SettingsTable>(
  table: T,
  argv: readonly string[],
  options: ParseSettingFlagsOptions,
): {
  flags: Partial<Record<keyof T, string>>;
  extra: Record<string, string | boolean | undefined>;
} {
  const spec: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of options.booleans ?? []) spec[name] = { type: 'boolean' };
  for (const name of options.strings ?? []) spec[name] = { type: 'string' };
  for (const setting of Object.values(table))
    if (setting.flag !== undefined) spec[setting.flag] = { type: 'string' };
  let parsed: Record<string, string | boolean | undefined>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false })
      .values as Record<string, string | boolean | undefined>;
  } catch (cause) {
    throw new SigilError(
      'ERR_CONFIG_INVALID',
      `${(cause as Error).message} (see ${options.program} --help)`,
      { cause },
    );
  }
  const flags: Partial<Record<keyof T, string>> = {};
  const extra: Record<string, string | boolean | undefined> = {};
  const byFlag = new Map(
    Object.entries(table)
      .filter(([, setting]) => setting.flag !== undefined)
      .map(([key, setting]) => [setting.flag!, key]),
  );
  for (const [name, value] of Object.entries(parsed)) {
    const key = byFlag.get(name);
    if (key !== undefined && typeof value === 'string') flags[key as keyof T] = value;
    else if (key === undefined) extra[name] = value;
  }
  return { flags, extra };
}

/**
 * One line per setting: key, value (`<secret>` for secrets, `-` when unset) and source, for
 * `--explain` output and start-up logs.
 *
 * @example
 * ```ts
 * process.stdout.write(explainSettings(table, resolveSettings(table, { env: process.env })));
 * // logLevel  "debug"  env:LOG_LEVEL
 * ```
 */
export function explainSettings<T extends SettingsTable>(
  table: T,
  resolved: ResolvedSettings<T>,
): string {
  const rows = Object.entries(table).map(([key, setting]) => {
    const source = resolved.sources[key as keyof T];
    const value = (resolved.values as Record<string, unknown>)[key];
    const shown =
      source === undefined ? '-' : setting.secret === true ? '<secret>' : JSON.stringify(value);
    return [key, shown, source === undefined ? 'unset' : formatSource(source)] as const;
  });
  const keyWidth = Math.max(...rows.map((row) => row[0].length));
  const valueWidth = Math.max(...rows.map((row) => row[1].length));
  return rows
    .map(
      ([key, value, source]) => `${key.padEnd(keyWidth)}  ${value.padEnd(valueWidth)}  ${source}\n`,
    )
    .join('');
}
