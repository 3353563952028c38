// The units of deploy/systemd/ as the tests read them.
import * as path from 'node:path';

/** deploy/systemd/. */
export const UNIT_DIR = path.resolve(__dirname, '..', '..', 'systemd');

/** The units shipped, one per program. */
export const UNITS = [
  'sigil-connector.service',
  'sigil-tunneler.service',
  'sigil-controller.service',
];

/** Every `Key=value` of a unit (all sections), values in order of appearance. */
export function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match !== null) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

/**
 * The `# Hardening` block of a unit, up to `[Install]` (or the connector's `# Workload API`
 * relaxations, which follow it), without its comment lines.
 */
export function hardeningBlock(text: string): string {
  const start = text.indexOf('# Hardening');
  const relaxed = text.indexOf('# Workload API:');
  const end = relaxed === -1 ? text.indexOf('[Install]') : relaxed;
  if (start === -1 || end === -1) throw new Error('no "# Hardening" block before [Install]');
  return text.slice(start, end);
}
