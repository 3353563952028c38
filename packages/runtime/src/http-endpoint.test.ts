import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Counter, Registry } from 'prom-client';
import pino from 'pino';
import { isSigilError } from '@sigil/errors';
import {
  createCertificateAuthority,
  parseCertificatesPem,
  type CertificateAuthority,
} from '@sigil/pki';
import {
  startHttpEndpoint,
  type HttpEndpoint,
  type HttpEndpointOptions,
  type HttpEndpointTls,
} from './http-endpoint';

const logger = pino({ level: 'silent' });

describe('startHttpEndpoint', () => {
  let endpoint: HttpEndpoint | undefined;
  let ready = false;
  const registry = new Registry();
  new Counter({
    name: 'sigil_test_requests_total',
    help: 'test counter',
    registers: [registry],
  }).inc(3);

  beforeEach(async () => {
    ready = false;
    endpoint = await startHttpEndpoint({
      host: '127.0.0.1',
      port: 0,
      registry,
      logger,
      isReady: () => ready,
      handler: async (req, res) => {
        if (req.url === '/custom') {
          res.end('custom');
          return true;
        }
        if (req.url === '/boom') throw new Error('handler failed');
        return false;
      },
    });
  });

  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
  });

  it('binds an ephemeral port and reports its URL', () => {
    expect(endpoint!.port).toBeGreaterThan(0);
    expect(endpoint!.url).toBe(`http://127.0.0.1:${endpoint!.port}`);
  });

  it('answers /healthz with 200 while running', async () => {
    const res = await fetch(`${endpoint!.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 503 until isReady() is true, then 200', async () => {
    expect((await fetch(`${endpoint!.url}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${endpoint!.url}/readyz`)).status).toBe(200);
  });

  it('adds the readiness fields to the /readyz body, ready or not', async () => {
    const extra = await startHttpEndpoint({
      host: '127.0.0.1',
      port: 0,
      registry,
      logger,
      isReady: () => ready,
      readiness: () => ({ store: { up: ready } }),
    });
    try {
      const down = await fetch(`${extra.url}/readyz`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ status: 'not ready', store: { up: false } });
      ready = true;
      expect(await (await fetch(`${extra.url}/readyz`)).json()).toEqual({
        status: 'ready',
        store: { up: true },
      });
    } finally {
      await extra.close();
    }
  });

  it('serves the registry at /metrics in Prometheus text format', async () => {
    const res = await fetch(`${endpoint!.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('sigil_test_requests_total 3');
  });

  it('refuses other methods on the probe paths with 405', async () => {
    const res = await fetch(`${endpoint!.url}/healthz`, { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('delegates other paths to the handler; unhandled ones get a 404 JSON body', async () => {
    expect(await (await fetch(`${endpoint!.url}/custom`)).text()).toBe('custom');
    const res = await fetch(`${endpoint!.url}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not found', path: '/nope' });
  });

  it('answers 500 when the handler throws', async () => {
    const res = await fetch(`${endpoint!.url}/boom`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: 'internal error' });
  });

  it('rejects with ERR_LISTEN_FAILED naming the address when the port is taken', async () => {
    const port = endpoint!.port;
    const attempt = startHttpEndpoint({
      host: '127.0.0.1',
      port,
      registry,
      logger,
      isReady: () => true,
    });
    await expect(attempt).rejects.toMatchObject({
      code: 'ERR_LISTEN_FAILED',
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
    await attempt.catch((err: unknown) => expect(isSigilError(err)).toBe(true));
  });

  it('closes keep-alive connections on close()', async () => {
    await fetch(`${endpoint!.url}/healthz`, { keepalive: true });
    const url = endpoint!.url;
    await endpoint!.close();
    endpoint = undefined;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});

describe('startHttpEndpoint with tls', () => {
  const registry = new Registry();
  const start = (extra: Partial<HttpEndpointOptions> = {}): Promise<HttpEndpoint> =>
    startHttpEndpoint({
      host: '127.0.0.1',
      port: 0,
      registry,
      logger,
      isReady: () => true,
      ...extra,
    });

  async function serverIdentity(ca: CertificateAuthority): Promise<HttpEndpointTls> {
    const issued = await ca.issue({
      spiffeId: 'spiffe://example.org/controller',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      profile: 'server',
      ttlSeconds: 3600,
    });
    return { certificateChainPem: issued.chainPem, privateKeyPem: issued.privateKeyPem! };
  }

  /** One HTTPS GET that verifies the server against `ca`; resolves with the status and the served leaf's serial. */
  function get(url: string, ca: string): Promise<{ status: number; serial: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${url}/healthz`, { ca, agent: false }, (res) => {
        const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, serial }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('serves HTTPS verified against the issuing CA, and refuses a plain HTTP request', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', commonName: 'CA' });
    const endpoint = await start({ tls: await serverIdentity(ca) });
    try {
      expect(endpoint.url).toBe(`https://127.0.0.1:${endpoint.port}`);
      expect((await get(endpoint.url, ca.certificatePem)).status).toBe(200);
      const other = await createCertificateAuthority({
        trustDomain: 'example.org',
        commonName: 'X',
      });
      await expect(get(endpoint.url, other.certificatePem)).rejects.toThrow(
        /self.signed|unable to (get|verify)/i,
      );
      await expect(fetch(`http://127.0.0.1:${endpoint.port}/healthz`)).rejects.toThrow();
    } finally {
      await endpoint.close();
    }
  });

  it('serves the certificate given to updateTls from the next handshake on', async () => {
    const ca = await createCertificateAuthority({ trustDomain: 'example.org', commonName: 'CA' });
    const first = await serverIdentity(ca);
    const endpoint = await start({ tls: first });
    try {
      const before = await get(endpoint.url, ca.certificatePem);
      const second = await serverIdentity(ca);
      endpoint.updateTls(second);
      const after = await get(endpoint.url, ca.certificatePem);
      expect(after.serial).not.toBe(before.serial);
      const [leaf] = parseCertificatesPem(second.certificateChainPem);
      expect(after.serial.toLowerCase()).toBe(leaf!.serialNumber.toLowerCase());
    } finally {
      await endpoint.close();
    }
  });

  it('refuses updateTls on a plain HTTP endpoint, naming it', async () => {
    const endpoint = await start();
    try {
      expect(() => endpoint.updateTls({ certificateChainPem: 'x', privateKeyPem: 'y' })).toThrow(
        /started without tls/,
      );
    } finally {
      await endpoint.close();
    }
  });
});
