import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdminServer } from './admin-server';

describe('serveConsoleFiles (the console at /)', () => {
  let dir: string;
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-console-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="app.js">');
    writeFileSync(join(dir, 'app.js'), 'console.log(1);');
    writeFileSync(join(dir, 'app.css'), 'body{margin:0}');
    writeFileSync(join(dir, 'notes.unknown'), 'not served');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x.js'), 'not served');
    const app = await createAdminServer({
      consoleDir: dir,
      authenticate: async () => undefined,
      legacy: async () => false,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / with the security headers and a CSP without inline code', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain('src="app.js"');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('serves each file with its type, and 304 for a matching ETag', async () => {
    const js = await fetch(`${base}/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1);');
    const css = await fetch(`${base}/app.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const etag = css.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
    const again = await fetch(`${base}/app.css`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves nothing else: no other type, no subdirectory, no path outside', async () => {
    for (const path of ['/notes.unknown', '/sub/x.js', '/..%2f..%2fetc%2fpasswd', '/nope.js'])
      expect((await fetch(`${base}${path}`)).status).toBe(404);
  });
});
