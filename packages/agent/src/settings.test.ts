import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AGENT_SETTINGS, settingsFor } from './settings';

describe('AGENT_SETTINGS', () => {
  it('gives every variable a flag of the same name in kebab-case', () => {
    for (const setting of AGENT_SETTINGS)
      expect(setting.flag).toBe(setting.env.toLowerCase().replace(/_/g, '-'));
  });

  it('splits the kind-specific settings', () => {
    expect(settingsFor('connector').map((s) => s.env)).toEqual(
      expect.arrayContaining(['CONNECTOR_ID', 'CONNECTOR_LISTEN_ADDR']),
    );
    expect(settingsFor('connector').map((s) => s.env)).not.toContain('CONNECTOR_ADDR');
    expect(settingsFor('tunneler').map((s) => s.env)).toEqual(
      expect.arrayContaining(['TUNNELER_ID', 'CONNECTOR_ADDR']),
    );
    expect(settingsFor('tunneler').map((s) => s.env)).not.toContain('CONNECTOR_LISTEN_ADDR');
  });

  it('is documented in docs/agents.md, variable, flag and YAML key', () => {
    const docs = readFileSync(path.join(__dirname, '../../../docs/agents.md'), 'utf8');
    for (const setting of AGENT_SETTINGS) {
      expect(docs).toContain(`\`${setting.env}\``);
      expect(docs).toContain(`\`--${setting.flag}\``);
      expect(docs).toContain(`\`${setting.yaml}\``);
    }
  });
});
