#!/usr/bin/env node
// PKI issuance benchmark: certificates per second from @sigil/pki, from @peculiar/x509's
// X509CertificateGenerator used plainly, and raw ECDSA P-256 signatures from node:crypto (the
// ceiling). Every candidate runs once per round, round-robin, so machine noise hits all of them
// alike; the report gives the median of the rounds and ratios of medians.
//
// Run: `pnpm bench pki` (builds first) or `node bench/run.js pki` after `pnpm build`.
// Knobs: PKI_BENCH_ROUNDS (default 7), PKI_BENCH_ROUND_MS (default 400).
'use strict';
const { createRequire } = require('node:module');
const crypto = require('node:crypto');
const os = require('node:os');
const fs = require('node:fs');

const pki = require('@sigil/pki');
// The baseline uses @sigil/pki's own @peculiar/x509 and @peculiar/webcrypto, not other copies.
const fromPki = createRequire(require.resolve('@sigil/pki/package.json'));
fromPki('reflect-metadata');
const x509 = fromPki('@peculiar/x509');
const { Crypto: PeculiarCrypto } = fromPki('@peculiar/webcrypto');

const ROUNDS = Number(process.env.PKI_BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.PKI_BENCH_ROUND_MS ?? 400);
const TRUST_DOMAIN = 'bench.example.org';
const SPIFFE_ID = `spiffe://${TRUST_DOMAIN}/ns/prod/sa/workload`;
const KEY_POOL = 64;

async function main() {
  const nodeWebcrypto = crypto.webcrypto;
  const peculiarWebcrypto = new PeculiarCrypto();
  const ca = await pki.createCertificateAuthority({ trustDomain: TRUST_DOMAIN });
  const caKey = crypto.createPrivateKey(ca.privateKeyPem);

  // Workload public keys, as the controller receives them on renewal.
  const publicKeys = [];
  for (let i = 0; i < KEY_POOL; i += 1)
    publicKeys.push(crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
  const csrs = [];
  for (let i = 0; i < KEY_POOL; i += 1)
    csrs.push(
      await pki.createCertificateSigningRequest(await pki.generateKeyPair('ec-p256'), {
        spiffeId: SPIFFE_ID,
      }),
    );

  // The plain generator gets every advantage it can keep across calls: keys imported once.
  const plain = await plainGeneratorSetup(ca, publicKeys, nodeWebcrypto);
  const plainPeculiar = await plainGeneratorSetup(ca, publicKeys, peculiarWebcrypto);
  const tbsSizedMessage = crypto.randomBytes(420); // about the size of an SVID TBSCertificate
  const nodeSigner = await webcryptoSigner(nodeWebcrypto, tbsSizedMessage);
  const peculiarSigner = await webcryptoSigner(peculiarWebcrypto, tbsSizedMessage);

  // Correctness before speed: the fast path's output is a valid X509-SVID.
  const sample = await ca.issue({
    spiffeId: SPIFFE_ID,
    publicKey: publicKeys[0],
    ttlSeconds: 3600,
  });
  pki.validateX509Svid(sample.chainPem, sample.caPem, { trustDomain: TRUST_DOMAIN });
  pki.validateX509Svid(
    new x509.X509Certificate(await plain.issue(0)).toString('pem'),
    ca.bundlePem,
    { trustDomain: TRUST_DOMAIN },
  );

  let n = 0;
  const candidates = [
    {
      id: 'raw',
      label: 'raw ECDSA P-256 sign (node:crypto)',
      run: () => crypto.sign('sha256', tbsSizedMessage, { key: caKey, dsaEncoding: 'der' }),
    },
    {
      id: 'sigil',
      label: '@sigil/pki issue, SVID, given public key',
      run: () =>
        ca.issue({ spiffeId: SPIFFE_ID, publicKey: publicKeys[n++ % KEY_POOL], ttlSeconds: 3600 }),
    },
    {
      id: 'sigil-keygen',
      label: '@sigil/pki issue, SVID, with key generation',
      run: () => ca.issue({ spiffeId: SPIFFE_ID, ttlSeconds: 3600 }),
    },
    {
      id: 'sigil-csr',
      label: '@sigil/pki signCsr, SVID (CSR parse + verify)',
      run: () => ca.signCsr(csrs[n++ % KEY_POOL], { spiffeId: SPIFFE_ID, ttlSeconds: 3600 }),
    },
    {
      id: 'plain',
      label: '@peculiar/x509 generator, plain (node webcrypto)',
      run: () => plain.issue(n++),
    },
    {
      id: 'plain-peculiar',
      label: '@peculiar/x509 generator, plain (@peculiar/webcrypto)',
      run: () => plainPeculiar.issue(n++),
    },
    {
      id: 'webcrypto-node',
      label: 'WebCrypto ECDSA P-256 sign, node crypto.webcrypto',
      run: nodeSigner,
    },
    {
      id: 'webcrypto-peculiar',
      label: 'WebCrypto ECDSA P-256 sign, @peculiar/webcrypto',
      run: peculiarSigner,
    },
  ];
  const samples = new Map(candidates.map((c) => [c.id, []]));

  for (const candidate of candidates) await measure(candidate.run, 100); // warm-up
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const candidate of candidates) {
      globalThis.gc?.();
      samples.get(candidate.id).push(await measure(candidate.run, ROUND_MS));
    }
  }

  const median = (id) => percentile(samples.get(id), 0.5);
  printMachine();
  console.log(
    `rounds: ${ROUNDS} x ${ROUND_MS} ms per candidate, interleaved; figures are medians (min..max)\n`,
  );
  const width = Math.max(...candidates.map((c) => c.label.length));
  for (const c of candidates) {
    const s = samples.get(c.id);
    console.log(
      `${c.label.padEnd(width)}  ${fmt(median(c.id)).padStart(9)} /s   (${fmt(Math.min(...s))}..${fmt(Math.max(...s))})`,
    );
  }
  const ratio = (a, b) => (median(a) / median(b)).toFixed(2);
  console.log('');
  console.log(
    `@sigil/pki issue vs plain @peculiar/x509 generator:    ${ratio('sigil', 'plain')}x   (target >= 10x)`,
  );
  console.log(
    `@sigil/pki issue vs raw ECDSA signing (the ceiling):   ${ratio('sigil', 'raw')}   (target ~0.25)`,
  );
  console.log(
    `@sigil/pki issue with key generation vs plain:         ${ratio('sigil-keygen', 'plain')}x`,
  );
  console.log(
    `@sigil/pki signCsr vs plain:                           ${ratio('sigil-csr', 'plain')}x`,
  );
  console.log(
    `node crypto.webcrypto vs @peculiar/webcrypto, ECDSA sign: ${ratio('webcrypto-node', 'webcrypto-peculiar')}x; plain generator: ${ratio('plain', 'plain-peculiar')}x`,
  );
  console.log(
    `  -> faster WebCrypto provider (Sigil's default): ${median('webcrypto-node') >= median('webcrypto-peculiar') ? "node's crypto.webcrypto" : '@peculiar/webcrypto'}`,
  );
}

/** The SVID profile through X509CertificateGenerator.create, as its README shows it. */
async function plainGeneratorSetup(ca, publicKeys, provider) {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  const signingKey = await provider.subtle.importKey(
    'pkcs8',
    crypto.createPrivateKey(ca.privateKeyPem).export({ type: 'pkcs8', format: 'der' }),
    algorithm,
    false,
    ['sign'],
  );
  const caPublic = await provider.subtle.importKey(
    'spki',
    ca.certificate.publicKey.export({ type: 'spki', format: 'der' }),
    algorithm,
    true,
    ['verify'],
  );
  const subjectKeys = [];
  for (const key of publicKeys)
    subjectKeys.push(
      await provider.subtle.importKey(
        'spki',
        key.export({ type: 'spki', format: 'der' }),
        algorithm,
        true,
        ['verify'],
      ),
    );
  const issuer = new x509.X509Certificate(ca.certificate.raw).subjectName;
  return {
    async issue(i) {
      const publicKey = subjectKeys[i % subjectKeys.length];
      const now = Date.now();
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: crypto.randomBytes(16).toString('hex'),
          subject: '',
          issuer,
          notBefore: new Date(now - 60_000),
          notAfter: new Date(now + 3600_000),
          publicKey,
          signingKey,
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([
              x509.ExtendedKeyUsage.serverAuth,
              x509.ExtendedKeyUsage.clientAuth,
            ]),
            new x509.SubjectAlternativeNameExtension([{ type: 'url', value: SPIFFE_ID }], true),
            await x509.SubjectKeyIdentifierExtension.create(publicKey, false, provider),
            await x509.AuthorityKeyIdentifierExtension.create(caPublic, false, provider),
          ],
        },
        provider,
      );
      return cert.rawData;
    },
  };
}

/** A WebCrypto ECDSA P-256 / SHA-256 signature of `message` with a key generated by `provider`. */
async function webcryptoSigner(provider, message) {
  const { privateKey } = await provider.subtle.generateKey(
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign', 'verify'],
  );
  return () => provider.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, message);
}

/** Operations per second of `run` over `ms` milliseconds (sequential, awaiting each call). */
async function measure(run, ms) {
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    await run();
    ops += 1;
    if ((ops & 7) === 0 || ops < 8) now = process.hrtime.bigint();
  }
  return ops / (Number(process.hrtime.bigint() - start) / 1e9);
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = (sorted.length - 1) * p;
  return (sorted[Math.floor(mid)] + sorted[Math.ceil(mid)]) / 2;
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

function printMachine() {
  const model =
    (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/) ?? [])[1] ??
    os.cpus()[0]?.model ??
    'unknown';
  console.log(
    `machine: ${os.availableParallelism?.() ?? os.cpus().length} cores, ${model}, node ${process.version}, ${os.platform()} ${os.release()}, load ${os.loadavg()[0].toFixed(1)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
