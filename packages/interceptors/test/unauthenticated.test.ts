// A server that requests but does not require client certificates (@sigil/grpc-tls
// clientCertificate: 'request'): unauthenticated callers reach public methods only, and a
// certificate is an identity only while it is a valid X509-SVID of the current bundle.
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  createRotatingIdentity,
  createServerCredentials,
  loadServerTlsConfig,
} from '@sigil/grpc-tls';
import type { ServerCredentialsHandle } from '@sigil/grpc-tls';
import {
  createAuthorizationInterceptor,
  createIdentityInterceptor,
  createServerInterceptors,
  getPeerIdentity,
  loadAuthorizationPolicy,
} from '@sigil/interceptors';
import type { AuthorizationDenial, PeerIdentity, PeerTrust } from '@sigil/interceptors';
import { createCertificateAuthority, createIntermediateCertificateAuthority } from '@sigil/pki';
import type { CertificateAuthority, IssuedCertificate } from '@sigil/pki';
import {
  createMemoryLogger,
  EchoClient,
  failure,
  forgeCaCertificateWithSpiffeId,
  startEchoServer,
  unary,
} from '@sigil/testing';
import type { RunningEchoServer } from '@sigil/testing';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { CLIENT_OPTIONS } from './helpers/tls';

const TD = 'example.org';
const CONNECTOR = `spiffe://${TD}/connector/c-1`;
const POLICY = loadAuthorizationPolicy(
  {
    rules: [
      { name: 'enrolment', methods: ['sigil.test.v1.EchoService/Echo'], public: true },
      {
        name: 'agents',
        methods: ['sigil.test.v1.EchoService/Admin'],
        callers: [`spiffe://${TD}/connector/*`],
      },
    ],
  },
  { source: 'test policy' },
);

let servingCa: CertificateAuthority;
let agentCa: CertificateAuthority;
let strangerCa: CertificateAuthority;
let serving: IssuedCertificate;
let connector: IssuedCertificate;
let outsider: IssuedCertificate;
let stranger: IssuedCertificate;

beforeAll(async () => {
  [servingCa, agentCa, strangerCa] = await Promise.all([
    createCertificateAuthority({ trustDomain: TD }),
    createCertificateAuthority({ trustDomain: TD }),
    createCertificateAuthority({ trustDomain: TD }),
  ]);
  [serving, connector, outsider, stranger] = await Promise.all([
    servingCa.issue({ spiffeId: `spiffe://${TD}/controller`, dnsNames: ['localhost'] }),
    agentCa.issue({ spiffeId: CONNECTOR, ttlSeconds: 3600 }),
    agentCa.issue({ spiffeId: `spiffe://${TD}/svc/other` }),
    strangerCa.issue({ spiffeId: CONNECTOR }),
  ]);
});

/** What a client presents: an issued certificate or a forged one. */
type Presented = Pick<IssuedCertificate, 'chainPem' | 'privateKeyPem'>;

interface Harness {
  server: RunningEchoServer;
  denials: AuthorizationDenial[];
  /** What the Echo handler saw of its last caller. */
  seen: { identity: PeerIdentity | undefined } | undefined;
  /** The bundle the interceptors check against, as the application holds it. */
  bundle: { pem: string };
  /** The intermediates the interceptors may build a path through. */
  intermediates: { pem: string };
  clock: { now: Date };
  client(certificate?: Presented): EchoClient;
}

const open: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** Builds the interceptor chain; the default is the standard chain with peerTrust and onDenied. */
type Chain = (options: {
  peerTrust: PeerTrust;
  onDenied: (denial: AuthorizationDenial) => void;
  logger: Logger;
}) => grpc.ServerInterceptor[];

const standardChain: Chain = (options) =>
  createServerInterceptors({ policy: POLICY, registry: new Registry(), ...options });

async function serve(chain: Chain = standardChain, logs = createMemoryLogger()): Promise<Harness> {
  const bundle = { pem: agentCa.bundlePem };
  const intermediates = { pem: '' };
  const clock = { now: new Date() };
  const tls: ServerCredentialsHandle = await createServerCredentials(
    loadServerTlsConfig({
      env: {},
      clientCertificate: 'request',
      identity: createRotatingIdentity(
        {
          certificateChainPem: serving.chainPem,
          privateKeyPem: serving.privateKeyPem!,
          caPem: agentCa.bundlePem,
        },
        { requireIssuedByBundle: false },
      ),
    }),
    { logger: createMemoryLogger().logger, registry: new Registry() },
  );
  const harness: Harness = {
    denials: [],
    seen: undefined,
    bundle,
    intermediates,
    clock,
    server: undefined as unknown as RunningEchoServer,
    client: (certificate) => {
      const credentials = certificate
        ? grpc.credentials.createSsl(
            Buffer.from(servingCa.bundlePem),
            Buffer.from(certificate.privateKeyPem!),
            Buffer.from(certificate.chainPem),
          )
        : grpc.credentials.createSsl(Buffer.from(servingCa.bundlePem));
      const client = new EchoClient(harness.server.address, credentials, {
        ...CLIENT_OPTIONS,
        'grpc.use_local_subchannel_pool': 1,
      });
      open.push(() => client.close());
      return client;
    },
  };
  harness.server = await startEchoServer({
    credentials: tls.credentials,
    interceptors: chain({
      peerTrust: {
        bundlePem: () => bundle.pem,
        intermediatesPem: () => intermediates.pem,
        trustDomain: TD,
        clock: () => clock.now,
      },
      onDenied: (denial) => harness.denials.push(denial),
      logger: logs.logger,
    }),
    handlers: {
      echo: (call, callback) => {
        harness.seen = { identity: getPeerIdentity(call) };
        callback(null, {});
      },
    },
  });
  open.push(
    () => tls.close(),
    () => harness.server.close(),
  );
  return harness;
}

describe('a clientCertificate: request server with @sigil/interceptors', () => {
  it('lets a caller without a certificate call the public method, with no peer identity', async () => {
    const h = await serve();
    await expect(unary(h.client(), 'echo')).resolves.toEqual({});
    expect(h.seen).toEqual({ identity: undefined });
    expect(h.denials).toEqual([]);
  });

  it('refuses a caller without a certificate elsewhere with UNAUTHENTICATED, and reports it', async () => {
    const h = await serve();
    const err = await failure(unary(h.client(), 'admin'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toBe(
      'caller without a verified client certificate is not allowed to call sigil.test.v1.EchoService/Admin',
    );
    expect(h.denials).toEqual([
      {
        method: 'sigil.test.v1.EchoService/Admin',
        reason: 'no-client-certificate',
        code: grpc.status.UNAUTHENTICATED,
        message: err.details,
        peerAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      },
    ]);
  });

  it('gives an agent with a valid certificate its identity on every method', async () => {
    const h = await serve();
    const client = h.client(connector);
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
    await unary(client, 'echo');
    expect(h.seen?.identity).toMatchObject({
      spiffeId: CONNECTOR,
      serialNumber: connector.serialNumber,
      notAfter: new Date(new X509Certificate(connector.certificatePem).validTo),
      notBefore: new Date(new X509Certificate(connector.certificatePem).validFrom),
    });
  });

  it('refuses an authenticated caller the policy does not name with PERMISSION_DENIED', async () => {
    const h = await serve();
    const err = await failure(unary(h.client(outsider), 'admin'));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(h.denials[0]).toMatchObject({
      reason: 'no-matching-rule',
      spiffeId: `spiffe://${TD}/svc/other`,
    });
  });

  it('treats a certificate from another CA as no certificate: public method only, no identity', async () => {
    const h = await serve();
    const client = h.client(stranger);
    await unary(client, 'echo');
    expect(h.seen).toEqual({ identity: undefined });
    expect((await failure(unary(client, 'admin'))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.denials[0]?.reason).toBe('no-client-certificate');
  });

  it('stops accepting a certificate on an open connection once its CA leaves the bundle', async () => {
    const h = await serve();
    const client = h.client(connector);
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
    h.bundle.pem = strangerCa.bundlePem;
    const err = await failure(unary(client, 'admin'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(/^caller certificate is not accepted \(.+\)/);
    expect(h.denials[0]).toMatchObject({
      reason: 'invalid-client-certificate',
      certificateProblem: expect.any(String),
    });
    expect(h.denials[0]!.spiffeId).toBeUndefined();
    await unary(client, 'echo');
    expect(h.seen).toEqual({ identity: undefined });
    h.bundle.pem = agentCa.bundlePem;
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
  });

  it('accepts a leaf of an intermediate only through the intermediates it is given (the check sees the leaf alone)', async () => {
    const intermediate = await createIntermediateCertificateAuthority(agentCa);
    const underIntermediate = await intermediate.issue({ spiffeId: CONNECTOR });
    const h = await serve();
    const client = h.client(underIntermediate);
    const err = await failure(unary(client, 'admin'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.denials[0]?.certificateProblem).toContain('nor among the intermediates');
    h.intermediates.pem = intermediate.certificatePem;
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
    h.intermediates.pem = '';
    expect((await failure(unary(client, 'admin'))).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('stops accepting a certificate that expires under an open connection', async () => {
    const h = await serve();
    const client = h.client(connector);
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
    h.clock.now = new Date(connector.notAfter.getTime() + 1000);
    const err = await failure(unary(client, 'admin'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.denials[0]?.certificateProblem).toMatch(/expired|not valid/i);
  });

  it('applies peerTrust in the authorization interceptor even after an identity interceptor without it', async () => {
    const h = await serve(({ peerTrust, onDenied, logger }) => [
      createIdentityInterceptor(),
      createAuthorizationInterceptor({
        policy: POLICY,
        peerTrust,
        onDenied,
        logger,
        registry: new Registry(),
      }),
    ]);
    const client = h.client(connector);
    await expect(unary(client, 'admin')).resolves.toEqual({ ok: true });
    h.bundle.pem = strangerCa.bundlePem;
    expect((await failure(unary(client, 'admin'))).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(h.denials[0]?.reason).toBe('invalid-client-certificate');
  });

  // X509-SVID sections 3.1, 4.1 and 4.3: the handshake accepts these (the CA signed them), the
  // interceptors must not take them for a workload.
  describe.each([
    ['a CA certificate (CA:TRUE, keyCertSign)', CONNECTOR, {}],
    [
      'a leaf with keyCertSign',
      CONNECTOR,
      {
        basicConstraints: 'critical, CA:FALSE',
        keyUsage: 'critical, digitalSignature, keyCertSign',
      },
    ],
    [
      'a leaf with cRLSign',
      CONNECTOR,
      { basicConstraints: 'critical, CA:FALSE', keyUsage: 'critical, digitalSignature, cRLSign' },
    ],
    [
      'a leaf whose SPIFFE ID is the trust-domain ID spiffe://example.org',
      `spiffe://${TD}`,
      { basicConstraints: 'critical, CA:FALSE', keyUsage: 'critical, digitalSignature' },
    ],
  ] as const)('%s signed by the trusted CA', (_name, spiffeId, extensions) => {
    let forged: Presented;
    beforeAll(() => {
      forged = forgeCaCertificateWithSpiffeId(agentCa, spiffeId, extensions);
    });

    it('is no authenticated caller of the standard chain with peerTrust', async () => {
      const h = await serve();
      const client = h.client(forged);
      await unary(client, 'echo');
      expect(h.seen).toEqual({ identity: undefined });
      const err = await failure(unary(client, 'admin'));
      expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(h.denials[0]).toMatchObject({ reason: 'invalid-client-certificate' });
      expect(h.denials[0]!.spiffeId).toBeUndefined();
    });

    it('has no SPIFFE ID without peerTrust either', async () => {
      const h = await serve(({ onDenied, logger }) =>
        createServerInterceptors({ policy: POLICY, registry: new Registry(), onDenied, logger }),
      );
      const client = h.client(forged);
      await unary(client, 'echo');
      expect(h.seen?.identity).toBeDefined();
      expect(h.seen?.identity?.spiffeId).toBeUndefined();
      expect(h.seen?.identity?.uris).toEqual([spiffeId]);
      const err = await failure(unary(client, 'admin'));
      expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(h.denials[0]).toMatchObject({ reason: 'no-spiffe-id' });
    });
  });

  it('logs an onDenied that throws and still refuses the call with its own status', async () => {
    const logs = createMemoryLogger();
    const h = await serve(
      (options) =>
        standardChain({
          ...options,
          onDenied: () => {
            throw new Error('audit store down');
          },
        }),
      logs,
    );
    const err = await failure(unary(h.client(), 'admin'));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(logs.records.find((r) => r.event === 'authz.on_denied_failed')).toBeDefined();
  });
});
