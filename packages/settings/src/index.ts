// @sigil/settings: every Sigil program declares its settings once, in a table; this resolves the
// table against flags, environment and a YAML file, remembering each value's source, and
// generates the --help text and the docs' variable tables from the same table.

// For programs: declare, resolve, explain.
export {
  resolveSettings,
  rawSetting,
  parseSettingFlags,
  explainSettings,
} from './resolve-settings';
export { readSettingsFile } from './settings-file';
export { formatSource, sourceLabel, envNames } from './setting';
export type { Setting, SettingsTable, SettingsValues, SettingSource } from './setting';
export type {
  SettingsInputs,
  ResolvedSettings,
  ParseSettingFlagsOptions,
} from './resolve-settings';
export type { SettingsFile, ReadSettingsFileOptions } from './settings-file';

// Parsers and the one error shape for bad values.
export { invalidSetting, missingSetting } from './invalid-setting';
export type { InvalidSettingOptions } from './invalid-setting';
export { parseDurationMs, parseDurationSeconds } from './duration';
export {
  parseBoolean,
  parseNonNegativeInteger,
  parsePositiveIntegerValue,
  parseList,
} from './values';

// For help text and docs.
export {
  formatSettingsHelp,
  formatSettingsMarkdown,
  replaceMarkedSection,
} from './format-settings';
export type { ExtraSettingRow, SettingsHelpOptions } from './format-settings';
