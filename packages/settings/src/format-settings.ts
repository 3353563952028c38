import { envNames, type Setting, type SettingsTable } from './setting';

/**
 * A row `--help` and the docs show besides the table's settings (e.g. `--config`).
 *
 * @example
 * ```ts
 * const row: ExtraSettingRow = { flag: 'config', env: 'CONTROLLER_CONFIG', help: 'YAML file with the same settings' };
 * ```
 */
export interface ExtraSettingRow {
  readonly env?: string;
  readonly flag?: string;
  readonly yaml?: string;
  readonly help: string;
  readonly defaultText?: string;
}

/**
 * Options of {@link formatSettingsHelp}.
 *
 * @example
 * ```ts
 * const options: SettingsHelpOptions = { usage: 'sigil-controller [flags]', intro: ['Flags win over variables.'] };
 * ```
 */
export interface SettingsHelpOptions {
  /** The synopsis after `usage: `. */
  usage: string;
  /** Lines between the synopsis and the list. */
  intro?: readonly string[];
  extra?: readonly ExtraSettingRow[];
}

/**
 * The `--help` text of a table: one line per setting with its flag, variable, help and default.
 *
 * @example
 * ```ts
 * process.stdout.write(formatSettingsHelp(CONTROLLER_SETTINGS, { usage: 'sigil-controller [flags]' }));
 * //   --data-dir  DATA_DIR  keys and embedded store (required)
 * ```
 */
export function formatSettingsHelp(table: SettingsTable, options: SettingsHelpOptions): string {
  const rows = [...Object.values(table).map(toRow), ...(options.extra ?? [])].map((row) => [
    row.flag === undefined ? '' : `--${row.flag}`,
    row.env ?? '',
    row.help + (row.defaultText ? ` (default ${row.defaultText})` : ''),
  ]);
  const flagWidth = Math.max(...rows.map((row) => row[0]!.length));
  const envWidth = Math.max(...rows.map((row) => row[1]!.length));
  return [
    `usage: ${options.usage}`,
    '',
    ...(options.intro === undefined ? [] : [...options.intro, '']),
    ...rows.map(([flag, env, help]) =>
      `  ${flag!.padEnd(flagWidth)}  ${env!.padEnd(envWidth)}  ${help}`.trimEnd(),
    ),
    '',
  ].join('\n');
}

/**
 * The docs' Markdown table of a table: variable (aliases noted), flag, YAML key, default, meaning.
 * Columns nobody uses (no flags, no YAML) are left out.
 *
 * @example
 * ```ts
 * const markdown = formatSettingsMarkdown(CONTROLLER_SETTINGS);
 * // | Variable | Flag | YAML key | Default | Meaning |
 * ```
 */
export function formatSettingsMarkdown(
  table: SettingsTable,
  extra: readonly ExtraSettingRow[] = [],
): string {
  const rows = [...Object.values(table).map(toRow), ...extra];
  const columns: [string, (row: ExtraSettingRow & { aliases?: readonly string[] }) => string][] = [
    [
      'Variable',
      (row) =>
        (row.env === undefined ? '' : `\`${row.env}\``) +
        (row.aliases?.length ? ` (alias ${row.aliases.map((a) => `\`${a}\``).join(', ')})` : ''),
    ],
  ];
  if (rows.some((row) => row.flag !== undefined))
    columns.push(['Flag', (row) => (row.flag === undefined ? '' : `\`--${row.flag}\``)]);
  if (rows.some((row) => row.yaml !== undefined))
    columns.push(['YAML key', (row) => (row.yaml === undefined ? '' : `\`${row.yaml}\``)]);
  columns.push(['Default', (row) => (row.defaultText ? `\`${row.defaultText}\`` : '')]);
  columns.push(['Meaning', (row) => row.help]);
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  return [
    `| ${columns.map(([title]) => title).join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${columns.map(([, cell]) => escape(cell(row))).join(' | ')} |`),
    '',
  ].join('\n');
}

/**
 * Replaces what stands between `<!-- settings:<name>:start -->` and `<!-- settings:<name>:end -->`
 * in `document` with `content`; throws when the markers are missing.
 *
 * @example
 * ```ts
 * writeFileSync(doc, replaceMarkedSection(readFileSync(doc, 'utf8'), 'controller', formatSettingsMarkdown(CONTROLLER_SETTINGS)));
 * ```
 */
export function replaceMarkedSection(document: string, name: string, content: string): string {
  const start = `<!-- settings:${name}:start -->`;
  const end = `<!-- settings:${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to < from) throw new Error(`no ${start} ... ${end} markers`);
  return `${document.slice(0, from + start.length)}\n${content}${document.slice(to)}`;
}

function toRow(setting: Setting<unknown>): ExtraSettingRow & { aliases: readonly string[] } {
  const [env, ...aliases] = envNames(setting);
  return {
    ...(env === undefined ? {} : { env }),
    aliases,
    ...(setting.flag === undefined ? {} : { flag: setting.flag }),
    ...(setting.yaml === undefined ? {} : { yaml: setting.yaml }),
    help: setting.help,
    ...(defaultText(setting) === undefined ? {} : { defaultText: defaultText(setting)! }),
  };
}

function defaultText(setting: Setting<unknown>): string | undefined {
  if (setting.defaultText !== undefined) return setting.defaultText;
  const value = setting.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}
