import {
  formatSettingsHelp,
  formatSettingsMarkdown,
  replaceMarkedSection,
  type SettingsTable,
} from './index';

const table = {
  trustDomain: {
    env: ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN'],
    flag: 'trust-domain',
    yaml: 'trust_domain',
    parse: (raw: string) => raw,
    default: 'sigil.local',
    help: 'SPIFFE trust domain',
  },
  names: { env: 'NAMES', parse: (raw: string) => raw.split(','), default: [], help: 'a|b list' },
} satisfies SettingsTable;

describe('formatSettingsHelp', () => {
  it('lists every flag with its variable, help and default', () => {
    expect(
      formatSettingsHelp(table, {
        usage: 'demo [flags]',
        intro: ['Flags win.'],
        extra: [{ flag: 'config', env: 'DEMO_CONFIG', help: 'YAML file' }],
      }),
    ).toBe(
      [
        'usage: demo [flags]',
        '',
        'Flags win.',
        '',
        '  --trust-domain  SIGIL_TRUST_DOMAIN  SPIFFE trust domain (default sigil.local)',
        '                  NAMES               a|b list',
        '  --config        DEMO_CONFIG         YAML file',
        '',
      ].join('\n'),
    );
  });
});

describe('formatSettingsMarkdown', () => {
  it('writes one row per setting, noting aliases and escaping pipes', () => {
    expect(formatSettingsMarkdown(table)).toBe(
      [
        '| Variable | Flag | YAML key | Default | Meaning |',
        '|---|---|---|---|---|',
        '| `SIGIL_TRUST_DOMAIN` (alias `TRUST_DOMAIN`) | `--trust-domain` | `trust_domain` | `sigil.local` | SPIFFE trust domain |',
        '| `NAMES` |  |  |  | a\\|b list |',
        '',
      ].join('\n'),
    );
  });

  it('drops the flag and YAML columns when no setting has one', () => {
    expect(formatSettingsMarkdown({ names: table.names }).split('\n')[0]).toBe(
      '| Variable | Default | Meaning |',
    );
  });
});

describe('replaceMarkedSection', () => {
  it('replaces only what stands between the markers', () => {
    const doc = 'before\n<!-- settings:x:start -->\nold\n<!-- settings:x:end -->\nafter\n';
    expect(replaceMarkedSection(doc, 'x', 'new\n')).toBe(
      'before\n<!-- settings:x:start -->\nnew\n<!-- settings:x:end -->\nafter\n',
    );
    expect(() => replaceMarkedSection(doc, 'y', '')).toThrow('no <!-- settings:y:start -->');
  });
});
