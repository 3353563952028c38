import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  certificateText,
  fileMode,
  opensslVerify,
  publicKeysOf,
  sigil,
  temporaryDirectory,
} from '../../test/support';
import { generateCertificateSet } from './certs-generate';

describe('sigil certs generate', () => {
  const tmp = temporaryDirectory('certs-generate');
  afterAll(() => tmp.remove());

  it('writes a CA and one verified identity per name in the k8s layout, with a progress line each', async () => {
    const out = join(tmp.dir, 'k8s');
    const run = await sigil([
      'certs',
      'generate',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--names',
      'api,worker,db',
    ]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    expect(lines.slice(0, 4)).toEqual([
      `[1/4] CA example.org -> ${join(out, 'ca', 'ca.crt')}, ${join(out, 'ca', 'ca.key')}`,
      `[2/4] spiffe://example.org/svc/api -> ${join(out, 'api', 'tls.crt')}, ${join(out, 'api', 'tls.key')}, ${join(out, 'api', 'ca.crt')}`,
      `[3/4] spiffe://example.org/svc/worker -> ${join(out, 'worker', 'tls.crt')}, ${join(out, 'worker', 'tls.key')}, ${join(out, 'worker', 'ca.crt')}`,
      `[4/4] spiffe://example.org/svc/db -> ${join(out, 'db', 'tls.crt')}, ${join(out, 'db', 'tls.key')}, ${join(out, 'db', 'ca.crt')}`,
    ]);
    expect(lines[4]).toMatch(
      /^Generated a CA and 3 identities for example\.org in .* \(k8s layout, certificates expire /,
    );
    expect(readdirSync(out).sort()).toEqual(['api', 'ca', 'db', 'worker']);
    expect(readdirSync(join(out, 'ca')).sort()).toEqual(['ca.crt', 'ca.key']);
    expect(fileMode(join(out, 'ca', 'ca.key'))).toBe(0o600);
    for (const name of ['api', 'worker', 'db']) {
      const dir = join(out, name);
      expect(readdirSync(dir).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      expect(fileMode(join(dir, 'tls.key'))).toBe(0o600);
      expect(opensslVerify(join(dir, 'ca.crt'), join(dir, 'tls.crt'))).toBe(
        `${join(dir, 'tls.crt')}: OK\n`,
      );
      expect(
        opensslVerify(join(out, 'ca', 'ca.crt'), join(dir, 'tls.crt'), { purpose: 'sslserver' }),
      ).toContain(': OK');
      expect(
        opensslVerify(join(out, 'ca', 'ca.crt'), join(dir, 'tls.crt'), { purpose: 'sslclient' }),
      ).toContain(': OK');
      const text = certificateText(join(dir, 'tls.crt'));
      expect(text).toContain(
        `URI:spiffe://example.org/svc/${name}, DNS:${name}, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1`,
      );
      expect(text).toMatch(
        /Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
      );
      const keys = publicKeysOf(join(dir, 'tls.key'), join(dir, 'tls.crt'));
      expect(keys.fromKey).toBe(keys.fromCertificate);
    }
  });

  it('writes the pem layout with ca/cert.pem and ca/key.pem, usable by certs issue', async () => {
    const out = join(tmp.dir, 'pem');
    const run = await sigil([
      'certs',
      'generate',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--names',
      'control-plane,agent-1',
      '--layout',
      'pem',
      '--ttl',
      '30d',
    ]);
    expect(run.code).toBe(0);
    expect(readdirSync(join(out, 'ca')).sort()).toEqual(['cert.pem', 'key.pem']);
    expect(fileMode(join(out, 'ca', 'key.pem'))).toBe(0o600);
    for (const name of ['control-plane', 'agent-1']) {
      const dir = join(out, name);
      expect(readdirSync(dir).sort()).toEqual(['ca.pem', 'cert.pem', 'key.pem']);
      expect(fileMode(join(dir, 'key.pem'))).toBe(0o600);
      expect(opensslVerify(join(out, 'ca', 'cert.pem'), join(dir, 'cert.pem'))).toContain(': OK');
      expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(
        readFileSync(join(out, 'ca', 'cert.pem'), 'utf8'),
      );
    }
    const more = await sigil([
      'certs',
      'issue',
      '--ca',
      join(out, 'ca'),
      '--out',
      join(out, 'cli'),
      '--spiffe-id',
      'spiffe://example.org/user/cli',
    ]);
    expect(more.code).toBe(0);
    expect(opensslVerify(join(out, 'ca', 'cert.pem'), join(out, 'cli', 'tls.crt'))).toContain(
      ': OK',
    );
  });

  it('sends progress to standard error with --json and prints one document', async () => {
    const now = new Date('2025-06-01T00:00:00Z');
    const out = join(tmp.dir, 'json');
    const run = await sigil(
      [
        'certs',
        'generate',
        '--out',
        out,
        '--trust-domain',
        'example.org',
        '--names',
        'api',
        '--json',
        '--ttl',
        '1h',
      ],
      { now },
    );
    expect(run.code).toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(2);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      trustDomain: 'example.org',
      layout: 'k8s',
      keyType: 'ec-p256',
      ca: {
        files: { certificate: join(out, 'ca', 'ca.crt'), privateKey: join(out, 'ca', 'ca.key') },
      },
      identities: [
        {
          name: 'api',
          spiffeId: 'spiffe://example.org/svc/api',
          dnsNames: ['api', 'localhost'],
          ipAddresses: ['127.0.0.1', '::1'],
          profile: 'svid',
          notAfter: '2025-06-01T01:00:00.000Z',
          files: {
            certificate: join(out, 'api', 'tls.crt'),
            privateKey: join(out, 'api', 'tls.key'),
            ca: join(out, 'api', 'ca.crt'),
          },
        },
      ],
    });
  });

  it('refuses to replace an existing CA unless --force', async () => {
    const out = join(tmp.dir, 'twice');
    const progress: string[] = [];
    await generateCertificateSet({
      out,
      trustDomain: 'example.org',
      names: ['api'],
      onProgress: (line) => progress.push(line),
    });
    expect(progress).toHaveLength(2);
    const key = readFileSync(join(out, 'ca', 'ca.key'), 'utf8');
    const refused = await sigil([
      'certs',
      'generate',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--names',
      'api,web',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `error: ${join(out, 'ca', 'ca.key')} already exists; pass --force to replace the CA (everything it issued stops verifying) (ERR_FILE_EXISTS)\n`,
    );
    expect(existsSync(join(out, 'web'))).toBe(false);
    const forced = await sigil([
      'certs',
      'generate',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      '--names',
      'api,web',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, 'ca', 'ca.key'), 'utf8')).not.toBe(key);
    expect(opensslVerify(join(out, 'ca', 'ca.crt'), join(out, 'api', 'tls.crt'))).toContain(': OK');
  });

  it.each([
    [['--names', 'api,ca'], "--names: 'ca' is reserved for the directory of the CA itself"],
    [['--names', 'api,API'], "--names: 'API' is not a valid name"],
    [['--names', 'api,api'], "--names: 'api' is listed twice"],
    [['--names', 'api', '--layout', 'pkcs12'], "--layout: 'pkcs12' is not a layout (use k8s, pem)"],
    [['--names', 'api', '--ttl', '1w'], "--ttl: '1w' is not a duration"],
    [[], "required option '--names <a,b,c>' not specified"],
  ])('refuses %j with exit 64 before writing anything', async (flags, message) => {
    const out = join(tmp.dir, 'refused');
    const run = await sigil([
      'certs',
      'generate',
      '--out',
      out,
      '--trust-domain',
      'example.org',
      ...flags,
    ]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(message);
    expect(existsSync(out)).toBe(false);
  });
});
