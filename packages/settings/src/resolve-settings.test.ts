import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  explainSettings,
  formatSource,
  invalidSetting,
  parseSettingFlags,
  readSettingsFile,
  resolveSettings,
  type SettingsTable,
} from './index';

const table = {
  trustDomain: {
    env: ['SIGIL_TRUST_DOMAIN', 'TRUST_DOMAIN'],
    flag: 'trust-domain',
    yaml: 'trust_domain',
    parse: (raw: string, at: string) => {
      if (!/^[a-z0-9.-]+$/.test(raw))
        throw invalidSetting(at, 'is not a trust domain', { value: raw });
      return raw;
    },
    default: 'sigil.local',
    help: 'SPIFFE trust domain',
  },
  port: {
    env: 'PORT',
    flag: 'port',
    yaml: 'server.port',
    parse: (raw: string) => Number(raw),
    help: 'listen port',
  },
  token: { env: 'TOKEN', parse: (raw: string) => raw, help: 'bearer token', secret: true },
} satisfies SettingsTable;

describe('resolveSettings', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sigil-settings-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes flags over env over the file over defaults, and remembers each source', () => {
    const path = join(dir, 'app.yaml');
    writeFileSync(path, 'trust_domain: file.example\nserver:\n  port: 8080\n');
    const file = readSettingsFile(path, table);
    const fromFile = resolveSettings(table, { env: {}, file });
    expect(fromFile.values).toEqual({ trustDomain: 'file.example', port: 8080 });
    expect(formatSource(fromFile.sources.trustDomain!)).toBe(`file:${path}#trust_domain`);
    expect(formatSource(fromFile.sources.port!)).toBe(`file:${path}#server.port`);
    expect(fromFile.sources.token).toBeUndefined();

    const fromEnv = resolveSettings(table, {
      env: { PORT: '9', TRUST_DOMAIN: 'env.example' },
      file,
    });
    expect(fromEnv.values).toMatchObject({ trustDomain: 'env.example', port: 9 });
    expect(formatSource(fromEnv.sources.port!)).toBe('env:PORT');

    const fromFlag = resolveSettings(table, { env: { PORT: '9' }, flags: { port: '10' }, file });
    expect(fromFlag.values.port).toBe(10);
    expect(formatSource(fromFlag.sources.port!)).toBe('flag:--port');

    const defaults = resolveSettings(table, { env: { PORT: '  ' } });
    expect(defaults.values).toEqual({ trustDomain: 'sigil.local' });
    expect(formatSource(defaults.sources.trustDomain!)).toBe('default');
  });

  it('accepts an alias, names the alias actually set, and refuses two names that disagree', () => {
    const alias = resolveSettings(table, { env: { TRUST_DOMAIN: 'alias.example' } });
    expect(alias.values.trustDomain).toBe('alias.example');
    expect(alias.sources.trustDomain).toEqual({ kind: 'env', name: 'TRUST_DOMAIN' });
    const canonical = resolveSettings(table, { env: { SIGIL_TRUST_DOMAIN: 'c.example' } });
    expect(canonical.sources.trustDomain).toEqual({ kind: 'env', name: 'SIGIL_TRUST_DOMAIN' });
    const both = resolveSettings(table, {
      env: { SIGIL_TRUST_DOMAIN: 'same.example', TRUST_DOMAIN: 'same.example' },
    });
    expect(both.sources.trustDomain).toEqual({ kind: 'env', name: 'SIGIL_TRUST_DOMAIN' });
    expect(() =>
      resolveSettings(table, {
        env: { SIGIL_TRUST_DOMAIN: 'a.example', TRUST_DOMAIN: 'b.example' },
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_CONFIG_INVALID',
        message: expect.stringMatching(
          /^SIGIL_TRUST_DOMAIN="a.example" and TRUST_DOMAIN="b.example" disagree/,
        ),
      }),
    );
  });

  it('names the variable, flag or file key of a bad value', () => {
    const bad = (inputs: Parameters<typeof resolveSettings>[1]): string => {
      try {
        resolveSettings(table, inputs);
      } catch (error) {
        expect(error).toBeInstanceOf(SigilError);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad({ env: { TRUST_DOMAIN: 'Bad_Name' } })).toBe(
      'TRUST_DOMAIN="Bad_Name" is not a trust domain',
    );
    expect(bad({ flags: { trustDomain: 'Bad_Name' } })).toMatch(/^--trust-domain="Bad_Name"/);
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'trust_domain: Bad_Name\n');
    expect(bad({ file: readSettingsFile(path, table) })).toBe(
      `${path}: trust_domain="Bad_Name" is not a trust domain`,
    );
  });

  it('explains every value with its source, hiding secrets', () => {
    const resolved = resolveSettings(table, { env: { TOKEN: 'hunter2-hunter2', PORT: '1' } });
    const text = explainSettings(table, resolved);
    expect(text).toMatch(/^trustDomain +"sigil.local" +default$/m);
    expect(text).toMatch(/^port +1 +env:PORT$/m);
    expect(text).toMatch(/^token +<secret> +env:TOKEN$/m);
    expect(text).not.toContain('hunter2');
  });
});

describe('readSettingsFile', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sigil-settings-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('flattens mappings, joins lists and refuses unknown keys naming file and key', () => {
    const path = join(dir, 'a.yaml');
    writeFileSync(path, 'server:\n  port: [1, 2]\n');
    expect(readSettingsFile(path, table).values.get('server.port')).toBe('1,2');
    writeFileSync(path, 'server:\n  prot: 1\n');
    expect(() => readSettingsFile(path, table)).toThrow(
      `config file ${path}: unknown key "server.prot" (known: trust_domain, server.port)`,
    );
  });

  it('reports unreadable and malformed files', () => {
    expect(() => readSettingsFile(join(dir, 'none.yaml'), table)).toThrow(
      expect.objectContaining({ code: 'ERR_FILE_UNREADABLE' }),
    );
    expect(() =>
      readSettingsFile(join(dir, 'none.yaml'), table, { unreadableCode: 'ERR_CONFIG_INVALID' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'a: [1, 2\n');
    expect(() => readSettingsFile(path, table)).toThrow(`config file ${path}: not valid YAML`);
  });
});

describe('parseSettingFlags', () => {
  it('maps flags to setting keys, keeps extra flags apart and refuses unknown ones', () => {
    const parsed = parseSettingFlags(table, ['--port', '7', '--help', '--config', 'x.yaml'], {
      program: 'demo',
      booleans: ['help'],
      strings: ['config'],
    });
    expect(parsed.flags).toEqual({ port: '7' });
    expect(parsed.extra).toEqual({ help: true, config: 'x.yaml' });
    expect(() => parseSettingFlags(table, ['--nope'], { program: 'demo' })).toThrow(
      /Unknown option '--nope'.*\(see demo --help\)/,
    );
  });
});
