// What a server sees of its callers under each clientCertificate mode: real TLS handshakes on
// loopback, with a server whose own certificate comes from one CA while it verifies clients
// against another (the controller's layout: bootstrap CA serves, runtime CA signs agents).
import * as grpc from '@grpc/grpc-js';
import type { IssuedCertificate } from '@sigil/pki';
import { createMemoryLogger, startEchoServer } from '@sigil/testing';
import { Registry } from 'prom-client';
import type { ClientCertificateMode, RotatingIdentity } from '../src';
import { createRotatingIdentity, createServerCredentials, loadServerTlsConfig } from '../src';
import type { PeerView } from './support/echo-calls';
import { whoAmI } from './support/echo-calls';
import type { Pki } from './support/fixtures';
import { createPki } from './support/fixtures';

let servingPki: Pki;
let clientPki: Pki;
let otherPki: Pki;
let laterPki: Pki;
let serving: IssuedCertificate;
let valid: IssuedCertificate;
let foreign: IssuedCertificate;
let expired: IssuedCertificate;
let fromLaterCa: IssuedCertificate;
const cleanups: (() => unknown)[] = [];

const agent = (pki: Pki, name: string, extra = {}) =>
  pki.issue({
    spiffeId: `spiffe://example.org/connector/${name}`,
    dnsNames: [],
    ipAddresses: [],
    ...extra,
  });

beforeAll(async () => {
  [servingPki, clientPki, otherPki, laterPki] = await Promise.all([
    createPki(),
    createPki(),
    createPki(),
    createPki(),
  ]);
  [serving, valid, foreign, expired, fromLaterCa] = await Promise.all([
    servingPki.issue({ spiffeId: 'spiffe://example.org/controller' }),
    agent(clientPki, 'valid'),
    agent(otherPki, 'foreign'),
    agent(clientPki, 'expired', { now: new Date(Date.now() - 3 * 86_400_000), ttlSeconds: 3600 }),
    agent(laterPki, 'later'),
  ]);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server on an in-memory identity whose caPem is the client bundle, not its own issuer. */
async function serve(
  clientCertificate: ClientCertificateMode,
  identity = servingIdentity(),
): Promise<{ port: number; identity: RotatingIdentity }> {
  const handle = await createServerCredentials(
    loadServerTlsConfig({ identity, clientCertificate, env: {} }),
    { logger: createMemoryLogger().logger, registry: new Registry() },
  );
  const running = await startEchoServer({ credentials: handle.credentials });
  cleanups.push(
    () => handle.close(),
    () => running.close(),
  );
  return { port: running.port, identity };
}

function servingIdentity(): RotatingIdentity {
  return createRotatingIdentity(
    {
      certificateChainPem: serving.chainPem,
      privateKeyPem: serving.privateKeyPem!,
      caPem: clientPki.ca.bundlePem,
    },
    { requireIssuedByBundle: false },
  );
}

/** One call on a fresh connection, presenting `certificate` (or none); the server's view or the failure code. */
async function call(port: number, certificate?: IssuedCertificate): Promise<PeerView | string> {
  const credentials = certificate
    ? grpc.credentials.createSsl(
        Buffer.from(serving.caPem),
        Buffer.from(certificate.privateKeyPem!),
        Buffer.from(certificate.chainPem),
      )
    : grpc.credentials.createSsl(Buffer.from(serving.caPem));
  try {
    return await whoAmI(`localhost:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code];
  }
}

const peer = (issued: () => IssuedCertificate) => (view: PeerView | string) =>
  expect(view).toEqual({
    peerSerial: issued().serialNumber,
    peerUri: `URI:${issued().spiffeId}`,
  });
const anonymous = (view: PeerView | string) => expect(view).toEqual({});
const refused = (view: PeerView | string) => expect(view).toBe('UNAVAILABLE');

describe.each([
  ['require', { none: refused, valid: peer(() => valid), foreign: refused, expired: refused }],
  [
    'request',
    { none: anonymous, valid: peer(() => valid), foreign: anonymous, expired: anonymous },
  ],
  ['none', { none: anonymous, valid: anonymous, foreign: anonymous, expired: anonymous }],
] as const)('clientCertificate: %s', (mode, expected) => {
  it('a caller without a client certificate', async () => {
    expected.none(await call((await serve(mode)).port));
  });
  it('a caller with a valid client certificate', async () => {
    expected.valid(await call((await serve(mode)).port, valid));
  });
  it('a caller with a client certificate from another CA', async () => {
    expected.foreign(await call((await serve(mode)).port, foreign));
  });
  it('a caller with an expired client certificate', async () => {
    expected.expired(await call((await serve(mode)).port, expired));
  });
});

describe('a client CA added to a running server', () => {
  it.each(['request', 'require'] as const)(
    '%s: accepts certificates of the new CA on new handshakes, without a restart',
    async (mode) => {
      const { port, identity } = await serve(mode);
      const before = await call(port, fromLaterCa);
      if (mode === 'request') anonymous(before);
      else refused(before);
      identity.update({
        ...identity.current,
        caPem: clientPki.ca.bundlePem + laterPki.ca.bundlePem,
      });
      peer(() => fromLaterCa)(await call(port, fromLaterCa));
      peer(() => valid)(await call(port, valid));
    },
  );

  it('a CA removed from the bundle no longer vouches for its certificates', async () => {
    const { port, identity } = await serve('request');
    peer(() => valid)(await call(port, valid));
    identity.update({ ...identity.current, caPem: laterPki.ca.bundlePem });
    anonymous(await call(port, valid));
  });
});

describe('an identity whose caPem is not its own issuer', () => {
  it('is refused unless requireIssuedByBundle is false', () => {
    const material = {
      certificateChainPem: serving.chainPem,
      privateKeyPem: serving.privateKeyPem!,
      caPem: clientPki.ca.bundlePem,
    };
    expect(() => createRotatingIdentity(material)).toThrow(
      expect.objectContaining({ code: 'ERR_TLS_CA_MISMATCH' }),
    );
    expect(
      createRotatingIdentity(material, { requireIssuedByBundle: false }).current.spiffeId,
    ).toBe('spiffe://example.org/controller');
  });
});
