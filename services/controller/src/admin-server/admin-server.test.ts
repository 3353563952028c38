import { createAdminServer, MAX_EVENT_STREAMS } from './admin-server';
import type { AdminAuthenticator } from './principal';

const viewer: AdminAuthenticator = async (request) => {
  request.principal = { user: 'vera', role: 'viewer', via: 'session' };
};

async function start(changes?: (l: (t: string[]) => void) => () => void) {
  const app = await createAdminServer({
    authenticate: viewer,
    legacy: async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return true;
    },
    ...(changes === undefined ? {} : { onChange: changes }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

describe('createAdminServer', () => {
  it('serves OpenAPI JSON publicly, with security headers', async () => {
    const { app, base } = await start();
    try {
      const res = await fetch(`${base}/api/admin/openapi.json`);
      expect(res.status).toBe(200);
      expect((await res.json()) as { openapi: string }).toMatchObject({
        openapi: expect.any(String),
      });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    } finally {
      await app.close();
    }
  });

  it('gives a viewer 403 ERR_ADMIN_FORBIDDEN on a POST and lets it GET', async () => {
    const { app, base } = await start();
    try {
      const post = await fetch(`${base}/api/admin/tokens`, { method: 'POST', body: '{}' });
      expect(post.status).toBe(403);
      expect(await post.json()).toMatchObject({ code: 'ERR_ADMIN_FORBIDDEN' });
      const get = await fetch(`${base}/api/admin/tokens`);
      expect(get.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('sends a change event over SSE when something changes', async () => {
    const listeners: Array<(t: string[]) => void> = [];
    const { app, base } = await start((l) => {
      listeners.push(l);
      return () => undefined;
    });
    try {
      const ac = new AbortController();
      const res = await fetch(`${base}/api/admin/events`, { signal: ac.signal });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const reader = res.body!.getReader();
      listeners.forEach((l) => l(['tokens']));
      let text = '';
      while (!text.includes('event: change'))
        text += Buffer.from((await reader.read()).value!).toString();
      expect(text).toContain('event: change\ndata: {"topics":["tokens"]}');
      ac.abort();
    } finally {
      await app.close();
    }
  });
  it('tells its event streams which endpoint a successful change went to', async () => {
    const admin: AdminAuthenticator = async (request) => {
      request.principal = { user: 'ada', role: 'admin', via: 'session' };
    };
    const app = await createAdminServer({
      authenticate: admin,
      legacy: async (req, res) => {
        const refused = req.url!.includes('refused');
        res.writeHead(refused ? 409 : 200, { 'content-type': 'application/json' });
        res.end('{}');
        return true;
      },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const ac = new AbortController();
      const res = await fetch(`${base}/api/admin/events`, { signal: ac.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': connected')) text += Buffer.from((await reader.read()).value!);
      // A refused change says nothing; the successful one names its endpoint.
      await fetch(`${base}/api/admin/grants/refused`, { method: 'DELETE' });
      await fetch(`${base}/api/admin/tokens`, { method: 'POST', body: '{}' });
      while (!text.includes('event: change')) text += Buffer.from((await reader.read()).value!);
      expect(text).toContain('event: change\ndata: {"topics":["tokens"]}');
      expect(text).not.toContain('grants');
      ac.abort();
    } finally {
      await app.close();
    }
  });
  it(`refuses event stream ${MAX_EVENT_STREAMS + 1} with 429 and Retry-After, and frees a closed one`, async () => {
    const { app, base } = await start();
    const open = async () => {
      const ac = new AbortController();
      const res = await fetch(`${base}/api/admin/events`, { signal: ac.signal });
      return { res, ac };
    };
    try {
      const streams = [];
      for (let i = 0; i < MAX_EVENT_STREAMS; i += 1) streams.push(await open());
      expect(streams.every((s) => s.res.status === 200)).toBe(true);
      const refused = await fetch(`${base}/api/admin/events`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ code: 'ERR_RATE_LIMITED', status: 429 });
      streams.pop()!.ac.abort();
      let next = await open();
      for (let tries = 0; next.res.status !== 200 && tries < 50; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        next = await open();
      }
      expect(next.res.status).toBe(200);
      for (const s of [...streams, next]) s.ac.abort();
    } finally {
      await app.close();
    }
  });
});
