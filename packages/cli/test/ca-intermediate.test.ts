// `sigil ca init --intermediate --parent DIR` and issuing from the intermediate, checked with the
// real openssl and a real TLS handshake.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { X509Certificate } from 'node:crypto';
import { parseCertificatesPem } from '@sigil/pki';
import {
  certificateText,
  newP256Key,
  openssl,
  opensslVerify,
  sigil,
  temporaryDirectory,
} from './support';
import { handshake, startTlsServer } from './certs-tls-server';

function certificatesIn(file: string): X509Certificate[] {
  return parseCertificatesPem(readFileSync(file, 'utf8'));
}

describe('sigil ca init --intermediate', () => {
  const tmp = temporaryDirectory('ca-intermediate');
  const root = join(tmp.dir, 'root');
  const mid = join(tmp.dir, 'mid');
  afterAll(() => tmp.remove());

  beforeAll(async () => {
    expect((await sigil(['ca', 'init', '--out', root, '--trust-domain', 'example.org'])).code).toBe(
      0,
    );
  });

  it('creates an intermediate signed by the parent, pathlen 0, its chain up to the root in ca.crt', async () => {
    const run = await sigil(['ca', 'init', '--intermediate', '--parent', root, '--out', mid]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain(
      `Created an intermediate CA for trust domain example.org, signed by CN=example.org root CA (${root}) (ec-p256, CN=example.org intermediate CA, pathlen 0)`,
    );
    const [intermediate, rootCert, ...rest] = certificatesIn(join(mid, 'ca.crt'));
    expect(rest).toHaveLength(0);
    expect(rootCert!.raw.equals(certificatesIn(join(root, 'ca.crt'))[0]!.raw)).toBe(true);
    expect(intermediate!.issuer).toBe(rootCert!.subject);
    expect(intermediate!.verify(rootCert!.publicKey)).toBe(true);
    const text = certificateText(join(mid, 'ca.crt'));
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
    expect(text).toContain('URI:spiffe://example.org');
    expect(opensslVerify(join(root, 'ca.crt'), join(mid, 'ca.crt'))).toContain(': OK');
  });

  it('reports the intermediate in --json', async () => {
    const out = join(tmp.dir, 'mid-json');
    const run = await sigil([
      'ca',
      'init',
      '--intermediate',
      '--parent',
      root,
      '--out',
      out,
      '--ttl',
      '30d',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      kind: 'intermediate',
      trustDomain: 'example.org',
      pathLength: 0,
      parent: { dir: root, subject: 'CN=example.org root CA' },
    });
    const lifetime = Date.parse(result.notAfter) - Date.parse(result.notBefore);
    expect(lifetime).toBe(30 * 86_400_000 + 300_000); // 30 days plus the 5 min back-dating
  });

  it('certs issue from the intermediate writes leaf then intermediate in tls.crt and the root in ca.crt', async () => {
    const leaf = join(tmp.dir, 'leaf');
    const run = await sigil([
      'certs',
      'issue',
      '--ca',
      mid,
      '--out',
      leaf,
      '--spiffe-id',
      'spiffe://example.org/svc/api',
      '--dns',
      'localhost',
    ]);
    expect(run.code).toBe(0);
    const chain = certificatesIn(join(leaf, 'tls.crt'));
    expect(chain.map((c) => c.subject)).toEqual(['CN=localhost', 'CN=example.org intermediate CA']);
    expect(chain[0]!.issuer).toBe(chain[1]!.subject);
    expect(readFileSync(join(leaf, 'ca.crt'), 'utf8')).toBe(
      readFileSync(join(root, 'ca.crt'), 'utf8'),
    );
    // openssl verify -CAfile root -untrusted intermediate leaf
    const intermediateFile = join(tmp.dir, 'intermediate.pem');
    writeFileSync(intermediateFile, chain[1]!.toString());
    const leafFile = join(tmp.dir, 'leaf.pem');
    writeFileSync(leafFile, chain[0]!.toString());
    expect(
      opensslVerify(join(leaf, 'ca.crt'), leafFile, {
        untrusted: intermediateFile,
        purpose: 'sslserver',
      }),
    ).toContain(': OK');
    // Without the intermediate the leaf does not verify: tls.crt must carry it.
    expect(() => opensslVerify(join(leaf, 'ca.crt'), leafFile)).toThrow(
      /unable to get local issuer certificate/,
    );
    // A TLS client trusting only the root verifies the server that sends tls.crt.
    const server = await startTlsServer({
      cert: join(leaf, 'tls.crt'),
      key: join(leaf, 'tls.key'),
    });
    try {
      expect(await handshake(server.port, join(leaf, 'ca.crt'), 'localhost')).toEqual({
        authorized: true,
      });
    } finally {
      await server.close();
    }
  });

  it('refuses an intermediate under an intermediate of pathlen 0', async () => {
    const run = await sigil([
      'ca',
      'init',
      '--intermediate',
      '--parent',
      mid,
      '--out',
      join(tmp.dir, 'deeper'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: the CA "CN=example.org intermediate CA" has pathLen 0: it may sign leaves only, not intermediates (ERR_CA_INVALID)\n',
    );
  });

  it('--path-length 1 allows a second level below a root of pathlen 2, and a chain of three verifies', async () => {
    const deepRoot = join(tmp.dir, 'deep-root');
    opensslRoot(deepRoot, ['basicConstraints=critical,CA:TRUE,pathlen:2']);
    const first = join(tmp.dir, 'deep-1');
    const second = join(tmp.dir, 'deep-2');
    const one = await sigil([
      'ca',
      'init',
      '--intermediate',
      '--parent',
      deepRoot,
      '--path-length',
      '1',
      '--out',
      first,
    ]);
    expect(one.stdout).toContain('pathlen 1)');
    const two = await sigil(['ca', 'init', '--intermediate', '--parent', first, '--out', second]);
    expect(two.stdout).toContain('pathlen 0)');
    expect(certificatesIn(join(second, 'ca.crt'))).toHaveLength(3);
    const leaf = join(tmp.dir, 'deep-leaf');
    await sigil(['certs', 'issue', '--ca', second, '--out', leaf, '--dns', 'deep.local']);
    expect(certificatesIn(join(leaf, 'tls.crt'))).toHaveLength(3);
    expect(
      opensslVerify(join(leaf, 'ca.crt'), join(leaf, 'tls.crt'), {
        untrusted: join(leaf, 'tls.crt'),
      }),
    ).toContain(': OK');
  });

  it('refuses a --path-length the parent does not allow', async () => {
    const run = await sigil([
      'ca',
      'init',
      '--intermediate',
      '--parent',
      root,
      '--path-length',
      '1',
      '--out',
      join(tmp.dir, 'too-long'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pathLength 1 exceeds what the parent CA allows (0)');
  });

  it("repeats the parent's name constraints in the intermediate", async () => {
    const constrained = join(tmp.dir, 'constrained-root');
    opensslRoot(constrained, [
      'basicConstraints=critical,CA:TRUE,pathlen:1',
      'nameConstraints=critical,permitted;DNS:example.org,permitted;URI:example.org',
    ]);
    const issuing = join(tmp.dir, 'constrained-mid');
    expect(
      (await sigil(['ca', 'init', '--intermediate', '--parent', constrained, '--out', issuing]))
        .code,
    ).toBe(0);
    const text = certificateText(join(issuing, 'ca.crt'));
    expect(text).toMatch(
      /X509v3 Name Constraints: critical\s+Permitted:\s+DNS:example.org\s+URI:example.org/,
    );
    // A leaf inside the constraints verifies; one outside does not.
    const inside = join(tmp.dir, 'inside');
    const outside = join(tmp.dir, 'outside');
    for (const [out, dns] of [
      [inside, 'api.example.org'],
      [outside, 'api.example.com'],
    ] as const) {
      expect(
        (
          await sigil([
            'certs',
            'issue',
            '--ca',
            issuing,
            '--out',
            out,
            '--spiffe-id',
            'spiffe://example.org/svc/api',
            '--dns',
            dns,
          ])
        ).code,
      ).toBe(0);
    }
    expect(
      opensslVerify(join(inside, 'ca.crt'), join(inside, 'tls.crt'), {
        untrusted: join(inside, 'tls.crt'),
      }),
    ).toContain(': OK');
    expect(() =>
      opensslVerify(join(outside, 'ca.crt'), join(outside, 'tls.crt'), {
        untrusted: join(outside, 'tls.crt'),
      }),
    ).toThrow(/permitted subtree violation/);
  });

  it.each([
    [['--intermediate'], '--parent: required with --intermediate'],
    [['--parent', 'somewhere'], '--parent: only with --intermediate'],
    [[], '--trust-domain: required for a root CA'],
  ])('refuses %j naming the flag', async (args, message) => {
    const run = await sigil(['ca', 'init', '--out', join(tmp.dir, 'x'), ...args]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(`error: ${message}`);
  });

  it("refuses a --trust-domain other than the parent's", async () => {
    const run = await sigil([
      'ca',
      'init',
      '--intermediate',
      '--parent',
      root,
      '--trust-domain',
      'other.org',
      '--out',
      join(tmp.dir, 'other'),
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--trust-domain: other.org is not the trust domain of the --parent CA (example.org)',
    );
  });

  function opensslRoot(dir: string, extensions: string[]): void {
    mkdirSync(dir, { recursive: true });
    openssl(
      'req',
      '-x509',
      ...newP256Key(join(dir, 'ca.key')),
      '-out',
      join(dir, 'ca.crt'),
      '-days',
      '30',
      '-subj',
      '/CN=openssl root',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectAltName=URI:spiffe://example.org',
      ...extensions.flatMap((e) => ['-addext', e]),
    );
  }
});
