import { Counter, Registry } from 'prom-client';
import pino from 'pino';
import { isSigilError } from '@sigil/errors';
import { startHttpEndpoint, type HttpEndpoint } from './http-endpoint';

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
