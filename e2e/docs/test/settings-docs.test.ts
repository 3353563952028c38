import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { staleSettingsDocs } from '../../../scripts/settings-docs';

describe('the docs variable tables', () => {
  it('match the settings tables (run pnpm docs:settings after changing a setting)', () => {
    expect(staleSettingsDocs().map((doc) => `${doc.file} (${doc.name})`)).toEqual([]);
  });

  it('document SIGIL_TRUST_DOMAIN as the variable and TRUST_DOMAIN as its alias', () => {
    for (const file of ['docs/controller.md', 'docs/sample-services.md']) {
      const text = readFileSync(join(__dirname, '../../..', file), 'utf8');
      expect(text).toContain('| `SIGIL_TRUST_DOMAIN` (alias `TRUST_DOMAIN`) |');
    }
  });
});
