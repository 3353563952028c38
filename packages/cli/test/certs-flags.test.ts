// Every flag of `sigil ca` and `sigil certs` (and csr sign, svid verify) that takes a value names
// itself when the value is refused: "--dns: 'bad name' is not a valid DNS name (...)".
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sigil, temporaryDirectory } from './support';

const tmp = temporaryDirectory('certs-flags');
afterAll(() => tmp.remove());
const aFile = join(tmp.dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');

describe('flag errors name the flag', () => {
  it('--dns names the flag and the value (the example of issue 8)', async () => {
    const run = await sigil([
      'certs',
      'issue',
      '--ca',
      tmp.dir,
      '--out',
      tmp.dir,
      '--dns',
      'bad name',
    ]);
    expect(run.code).toBe(64);
    expect(run.stderr).toBe(
      `error: --dns: 'bad name' is not a valid DNS name (letters, digits and hyphens in dot-separated labels, optional leading "*.") (ERR_USAGE)\n`,
    );
  });

  it.each<[string, string[], string, string]>([
    [
      'ca init',
      ['--out', 'o', '--trust-domain', 'Example.org'],
      '--trust-domain',
      'invalid trust domain "Example.org"',
    ],
    [
      'ca init',
      ['--out', 'o', '--trust-domain', 'example.org', '--ttl', '5x'],
      '--ttl',
      "'5x' is not a duration",
    ],
    [
      'ca init',
      ['--out', 'o', '--trust-domain', 'example.org', '--ttl', '0s'],
      '--ttl',
      "'0s': the duration must be greater than zero",
    ],
    [
      'ca init',
      ['--out', 'o', '--trust-domain', 'example.org', '--path-length', 'one'],
      '--path-length',
      "'one' is not a whole number",
    ],
    [
      'ca init',
      ['--out', 'o', '--trust-domain', 'example.org', '--key-type', 'dsa'],
      '--key-type',
      "'dsa' is not a key type (use ec-p256, ec-p384, rsa-2048, rsa-3072, ed25519)",
    ],
    [
      'certs issue',
      ['--ca', 'c', '--out', 'o', '--dns', 'ok.example,-bad-'],
      '--dns',
      "'-bad-' is not a valid DNS name",
    ],
    [
      'certs issue',
      ['--ca', 'c', '--out', 'o', '--ip', '300.1.2.3'],
      '--ip',
      "'300.1.2.3' is not a valid IP address",
    ],
    [
      'certs issue',
      ['--ca', 'c', '--out', 'o', '--spiffe-id', 'https://example.org/api'],
      '--spiffe-id',
      'invalid SPIFFE ID "https://example.org/api"',
    ],
    [
      'certs issue',
      ['--ca', 'c', '--out', 'o', '--dns', 'a.b', '--ttl', '1w'],
      '--ttl',
      "'1w' is not a duration",
    ],
    [
      'certs issue',
      ['--ca', 'c', '--out', 'o', '--dns', 'a.b', '--key-type', 'rsa-1024'],
      '--key-type',
      "'rsa-1024' is not a key type",
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'a b', '--names', 'api'],
      '--trust-domain',
      'invalid trust domain "a b"',
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'example.org', '--names', 'API'],
      '--names',
      "'API' is not a valid name",
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'example.org', '--names', 'api,api'],
      '--names',
      "'api' is listed twice",
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'example.org', '--names', 'api', '--layout', 'pkcs12'],
      '--layout',
      "'pkcs12' is not a layout (use k8s, pem)",
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'example.org', '--names', 'api', '--ttl', 'soon'],
      '--ttl',
      "'soon' is not a duration",
    ],
    [
      'certs generate',
      ['--out', 'o', '--trust-domain', 'example.org', '--names', 'api', '--key-type', 'x'],
      '--key-type',
      "'x' is not a key type",
    ],
    [
      'certs check',
      ['f', '--warn-days', '-3'],
      '--warn-days',
      "'-3' is not a whole number of days, such as 30",
    ],
    [
      'csr sign',
      ['--ca', 'c', '--csr', 'r', '--spiffe-id', 'spiffe://example.org/a', '--dns', 'a_b'],
      '--dns',
      "'a_b' is not a valid DNS name",
    ],
    [
      'csr sign',
      ['--ca', 'c', '--csr', 'r', '--spiffe-id', 'spiffe://example.org/a', '--ip', '::g'],
      '--ip',
      "'::g' is not a valid IP address",
    ],
    [
      'csr sign',
      ['--ca', 'c', '--csr', 'r', '--spiffe-id', 'spiffe://Example.org/a'],
      '--spiffe-id',
      'invalid SPIFFE ID',
    ],
    [
      'csr sign',
      ['--ca', 'c', '--csr', 'r', '--spiffe-id', 'spiffe://example.org/a', '--ttl', '24'],
      '--ttl',
      "'24' is not a duration",
    ],
    [
      'svid verify',
      ['--bundle', 'b', '--cert', 'c', '--at', 'tomorrow'],
      '--at',
      "'tomorrow' is not an ISO-8601 time",
    ],
    [
      'svid verify',
      ['--bundle', 'b', '--cert', 'c', '--at', '2025-02-30'],
      '--at',
      "'2025-02-30' is not a valid calendar date",
    ],
    [
      'svid verify',
      ['--bundle', 'b', '--cert', 'c', '--trust-domain', 'x:1'],
      '--trust-domain',
      'invalid trust domain',
    ],
  ])('%s %j: %s', async (command, args, flag, reason) => {
    const run = await sigil([...command.split(' '), ...args]);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error: ${flag}: `));
    expect(run.stderr).toContain(reason);
    expect(run.stderr).toMatch(/ \(ERR_USAGE\)\n$/);
    expect(run.code).toBe(64);
  });

  it('--json reports the flag error as a JSON document', async () => {
    const run = await sigil(['certs', 'issue', '--ca', 'c', '--out', 'o', '--ip', 'x', '--json']);
    expect(run.code).toBe(64);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { code: 'ERR_USAGE', message: "--ip: 'x' is not a valid IP address" },
    });
  });

  it.each<[string, string[]]>([
    ['ca init', ['--trust-domain', 'example.org']],
    ['certs generate', ['--trust-domain', 'example.org', '--names', 'api']],
  ])('%s --out naming a file says so, naming --out', async (command, args) => {
    const run = await sigil([...command.split(' '), '--out', aFile, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `error: --out ${aFile}: cannot create the directory (a file of that name exists) (ERR_FILE_UNWRITABLE)\n`,
    );
  });

  it('certs issue --ca naming a directory without a CA names --ca', async () => {
    const run = await sigil([
      'certs',
      'issue',
      '--ca',
      tmp.dir,
      '--out',
      join(tmp.dir, 'o'),
      '--dns',
      'a.b',
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: --ca ${tmp.dir}: no CA found`);
  });

  it('missing values and required flags are named by the parser', async () => {
    expect((await sigil(['certs', 'issue', '--ca', 'c', '--out', 'o', '--dns'])).stderr).toContain(
      "option '--dns <name...>' argument missing",
    );
    expect((await sigil(['ca', 'init', '--trust-domain', 'example.org'])).stderr).toContain(
      "required option '--out <dir>' not specified",
    );
  });
});
