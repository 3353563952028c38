/**
 * One setting, declared once: its environment variable(s), flag, YAML path, parser, default and
 * help. The first `env` name is canonical; the others are accepted aliases.
 *
 * @example
 * ```ts
 * const trustDomain: Setting<string> = {
 *   env: ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN'],
 *   flag: 'trust-domain',
 *   yaml: 'trust_domain',
 *   parse: (raw) => raw.trim().toLowerCase(),
 *   default: 'sigil.local',
 *   help: 'SPIFFE trust domain',
 * };
 * ```
 */
export interface Setting<T> {
  /** Environment variable names: the first is canonical, the rest are aliases. */
  readonly env: string | readonly string[];
  /** Flag name without the leading `--`. */
  readonly flag?: string;
  /** Dotted path in the YAML settings file. */
  readonly yaml?: string;
  /** Parses the raw text; `at` names where it came from for the error (see `invalidSetting`). */
  readonly parse: (raw: string, at: string) => T;
  /** Used when no source sets the value. */
  readonly default?: T;
  /** How `--help` and the docs show the default when it is not the plain `default` (e.g. `first non-loopback IPv4`). */
  readonly defaultText?: string;
  readonly help: string;
  /** Never shown by `explainSettings` (tokens, passwords). */
  readonly secret?: boolean;
}

/**
 * A settings table: setting key (the property of the resolved object) to its declaration.
 *
 * @example
 * ```ts
 * const table = { logLevel: { env: 'LOG_LEVEL', flag: 'log-level', parse: String, default: 'info', help: 'log level' } } satisfies SettingsTable;
 * ```
 */
export type SettingsTable = Readonly<Record<string, Setting<unknown>>>;

/**
 * The typed object a table resolves to: a setting with a `default` is always present.
 *
 * @example
 * ```ts
 * type Values = SettingsValues<typeof table>; // { logLevel: string }
 * ```
 */
export type SettingsValues<T extends SettingsTable> = {
  -readonly [K in keyof T]: T[K] extends { parse: (raw: string, at: string) => infer V }
    ? T[K] extends { default: unknown }
      ? V
      : V | undefined
    : never;
};

/**
 * Where a resolved value came from.
 *
 * @example
 * ```ts
 * const source: SettingSource = { kind: 'env', name: 'TRUST_DOMAIN' };
 * formatSource(source); // 'env:TRUST_DOMAIN'
 * ```
 */
export type SettingSource =
  | { readonly kind: 'default' }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'flag'; readonly name: string }
  | { readonly kind: 'file'; readonly path: string; readonly key: string };

/**
 * A source as logs and `--explain` show it: `default`, `env:NAME`, `flag:--x`, `file:path#yaml.path`.
 *
 * @example
 * ```ts
 * formatSource({ kind: 'file', path: '/etc/sigil/agent.yaml', key: 'controller.addr' }); // 'file:/etc/sigil/agent.yaml#controller.addr'
 * ```
 */
export function formatSource(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'env':
      return `env:${source.name}`;
    case 'flag':
      return `flag:${source.name}`;
    case 'file':
      return `file:${source.path}#${source.key}`;
  }
}

/**
 * A source as error messages name it: `NAME`, `--x`, `path: yaml.path` or `default`.
 *
 * @example
 * ```ts
 * sourceLabel({ kind: 'flag', name: '--data-dir' }); // '--data-dir'
 * ```
 */
export function sourceLabel(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'env':
    case 'flag':
      return source.name;
    case 'file':
      return `${source.path}: ${source.key}`;
  }
}

/**
 * The environment variable names of a setting, canonical first.
 *
 * @example
 * ```ts
 * envNames({ env: ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN'], parse: String, help: '' }); // ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN']
 * ```
 */
export function envNames(setting: Setting<unknown>): readonly string[] {
  return typeof setting.env === 'string' ? [setting.env] : setting.env;
}
