// The runtime CA as an intermediate under an operator's root made with the real openssl: first an
// intermediate the operator signed (certificate and key as files), then one the controller makes
// with the root key used once. A connector and a tunneler stay live through both rotations; their
// bundles end up holding the operator's root only, and `openssl verify -x509_strict` accepts the
// chains they present (leaf plus intermediate) against that root.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseCertificatesPem, toPem } from '@sigil/pki';
import { waitFor } from '@sigil/testing';
import {
  CA_SUITE_CONTROLLER,
  agentsOf,
  failuresOf,
  startFleet,
  type Fleet,
} from './support/ca-fleet';
import {
  adminRequest,
  startControlPlane,
  waitForRootAcknowledged,
  type ControlPlaneFixture,
} from './support/control-plane';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Runs the real openssl; rejects with its output when it fails. Asynchronous: the agents under
 * test share this process, and a blocked event loop would delay their renewals.
 */
function openssl(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('openssl', args, (err, stdout, stderr) =>
      err === null
        ? resolve(stdout)
        : reject(
            new Error(`openssl ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err }),
          ),
    ),
  );
}

interface OperatorPki {
  rootCertificate: string;
  rootKey: string;
  intermediateCertificate: string;
  intermediateKey: string;
}

/**
 * An operator's root (EC P-256, carrying the trust domain's URI SAN so the controller may sign an
 * intermediate with its key) and an intermediate signed by it, all with openssl.
 */
async function createOperatorPki(dir: string, trustDomain: string): Promise<OperatorPki> {
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  const pki: OperatorPki = {
    rootCertificate: file('root.pem'),
    rootKey: file('root.key'),
    intermediateCertificate: file('intermediate.pem'),
    intermediateKey: file('intermediate.key'),
  };
  const ecKey = (out: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', out);
  await ecKey(pki.rootKey);
  // openssl 3.0 refuses `req -x509 -extfile`: the extensions go in with -addext.
  await openssl(
    'req', '-x509', '-new', '-key', pki.rootKey, '-sha256', '-days', '30',
    '-subj', '/O=Example Corp/CN=Example Corp Root CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
    '-addext', `subjectAltName=URI:spiffe://${trustDomain}`,
    '-out', pki.rootCertificate,
  ); // prettier-ignore
  await ecKey(pki.intermediateKey);
  const csr = file('intermediate.csr');
  await openssl(
    'req', '-new', '-key', pki.intermediateKey, '-subj', '/O=Example Corp/CN=Sigil runtime CA',
    '-out', csr,
  ); // prettier-ignore
  const extensions = file('intermediate.ext');
  writeFileSync(
    extensions,
    [
      'basicConstraints=critical,CA:TRUE,pathlen:0',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid:always',
      `subjectAltName=URI:spiffe://${trustDomain}`,
      '',
    ].join('\n'),
  );
  await openssl(
    'x509', '-req', '-in', csr, '-CA', pki.rootCertificate, '-CAkey', pki.rootKey,
    '-CAcreateserial', '-sha256', '-days', '20', '-extfile', extensions,
    '-out', pki.intermediateCertificate,
  ); // prettier-ignore
  return pki;
}

const identityOf = (agent: ReturnType<typeof agentsOf>[number]) => agent.runtime.session.identity;

/** The certificates of a PEM text, normalised (one PEM block each). */
const certificates = (pem: string): string[] =>
  parseCertificatesPem(pem, 'test PEM').map((c) => toPem([c]).trim());

async function admin(fx: ControlPlaneFixture, method: string, route: string, body?: unknown) {
  return adminRequest<Json>(fx, method, route, body);
}

const liveOf = (status: Json, role: string): number => {
  const generation = status.generations.find((g: Json) => g.role === role);
  return generation.live_certificates.connector + generation.live_certificates.tunneler;
};

/** Prepare from `upstream`, activate on acknowledgement, wait out generation N's certificates, retire. */
async function rotate(fx: ControlPlaneFixture, upstream: Record<string, string>): Promise<Json> {
  const prepared = await admin(fx, 'POST', 'ca/prepare', { upstream });
  expect(prepared.status).toBe(200);
  await waitForRootAcknowledged(fx, 30_000);
  const activated = await admin(fx, 'POST', 'ca/activate');
  expect(activated.status).toBe(200);
  await waitFor(
    'no live certificate under the previous generation',
    async () => (liveOf((await admin(fx, 'GET', 'ca')).body, 'previous') === 0 ? true : undefined),
    30_000,
  );
  const retired = await admin(fx, 'POST', 'ca/retire');
  expect(retired.status).toBe(200);
  return { prepared: prepared.body, retired: retired.body };
}

describe('a runtime CA under an operator root made with openssl', () => {
  let fx: ControlPlaneFixture;
  let fleet: Fleet;
  let pki: OperatorPki;
  let counter = 0;

  beforeAll(async () => {
    fx = await startControlPlane(CA_SUITE_CONTROLLER);
    pki = await createOperatorPki(path.join(fx.scratch, 'operator-pki'), 'e2e.sigil');
    fleet = await startFleet(fx, ['laptop-1']);
  }, 60_000);
  afterAll(() => fx.cleanup());

  const write = (content: string): string => {
    counter += 1;
    const file = path.join(fx.scratch, `chain-${counter}.pem`);
    writeFileSync(file, content);
    return file;
  };

  /**
   * `openssl verify -x509_strict` of every agent's presented chain: the leaf, with the rest of
   * the chain as untrusted intermediates, against the operator's root alone. Returns the
   * intermediates the agents present.
   */
  const expectOpensslAccepts = (): Promise<string[]> =>
    Promise.all(
      agentsOf(fleet).map(async (agent) => {
        const chain = certificates(identityOf(agent).certificateChainPem);
        expect(chain.length).toBeGreaterThanOrEqual(2);
        const [leaf, ...intermediates] = chain;
        const out = await openssl(
          'verify', '-x509_strict', '-CAfile', pki.rootCertificate,
          '-untrusted', write(`${intermediates.join('\n')}\n`), write(`${leaf}\n`),
        ); // prettier-ignore
        expect(out).toMatch(/: OK\n$/);
        // Without the intermediates the root alone does not verify the leaf.
        await expect(
          openssl('verify', '-x509_strict', '-CAfile', pki.rootCertificate, write(`${leaf}\n`)),
        ).rejects.toThrow(/unable to get local issuer certificate/);
        return intermediates.join('\n');
      }),
    );

  /** Every agent's bundle and the controller's hold exactly the operator's root. */
  const expectOperatorRootOnly = async (bundleVersion: number): Promise<void> => {
    const root = certificates(readFileSync(pki.rootCertificate, 'utf8'));
    await waitFor(
      `every agent holding bundle version ${bundleVersion}`,
      () => agentsOf(fleet).every((a) => identityOf(a).bundleVersion === bundleVersion),
      30_000,
    );
    expect(certificates(fx.controller.trustBundlePem)).toEqual(root);
    for (const agent of agentsOf(fleet))
      expect(certificates(identityOf(agent).bundlePem)).toEqual(root);
  };

  it('an intermediate the operator signed: prepare, activate, retire with live agents', async () => {
    const before = (await admin(fx, 'GET', 'ca')).body;
    expect(before.generations[0].upstream).toBe(false);
    const { prepared, retired } = await rotate(fx, {
      root_certificate_file: pki.rootCertificate,
      intermediate_certificate_file: pki.intermediateCertificate,
      intermediate_key_file: pki.intermediateKey,
    });
    expect(prepared.bundle_version).toBe(before.bundle_version + 1);
    // The old self-signed root leaves the bundle: the version rises again.
    expect(retired.bundle_version).toBe(prepared.bundle_version + 1);
    await expectOperatorRootOnly(retired.bundle_version);
    const status = (await admin(fx, 'GET', 'ca')).body;
    expect(status.generations.map((g: Json) => [g.role, g.upstream])).toEqual([['current', true]]);
    const presented = await expectOpensslAccepts();
    const intermediate = certificates(readFileSync(pki.intermediateCertificate, 'utf8'));
    for (const chain of presented) expect(certificates(chain)).toEqual(intermediate);
    expect(fleet.connector.part.control.up).toBe(true);
    expect(fleet.tunnelers[0]!.part.tunnel.up).toBe(true);
    expect(await failuresOf(fx, fleet)).toBe(0);
  }, 120_000);

  it('the root key used once: a new intermediate under the same root, the bundle roots unchanged', async () => {
    const before = (await admin(fx, 'GET', 'ca')).body;
    const { prepared, retired } = await rotate(fx, {
      root_certificate_file: pki.rootCertificate,
      root_key_file: pki.rootKey,
    });
    // Both generations share the root: prepare raises the version, retire changes no root.
    expect(prepared.bundle_version).toBe(before.bundle_version + 1);
    expect(retired.bundle_version).toBe(prepared.bundle_version);
    await expectOperatorRootOnly(retired.bundle_version);
    const presented = await expectOpensslAccepts();
    const first = certificates(readFileSync(pki.intermediateCertificate, 'utf8'));
    for (const chain of presented) {
      expect(certificates(chain)).toHaveLength(1);
      expect(certificates(chain)).not.toEqual(first);
    }
    expect(fleet.connector.part.control.up).toBe(true);
    expect(fleet.tunnelers[0]!.part.tunnel.up).toBe(true);
    expect(await failuresOf(fx, fleet)).toBe(0);
  }, 120_000);
});
