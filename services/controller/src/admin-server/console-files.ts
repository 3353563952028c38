// The console's built files (@sigil/console's dist/) served at `/` from memory: read once when the
// admin server starts, so a request can only ever get one of those files. (@fastify/static cannot
// be used: its content-disposition dependency is ESM-only, which a CommonJS test runner cannot
// load, and a handful of fixed files needs no file-system lookups per request.)
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

interface ConsoleFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** The regular files at the top of `dir` with a known type, by name. */
function readConsoleFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || contentType === undefined) continue;
    const body = readFileSync(join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(entry.name, { body, contentType, etag });
  }
  return files;
}

/**
 * Serves the console's files: `GET /` is `index.html`, `GET /app.js` is `app.js`, and so on, each
 * with its content type, an ETag (304 when it matches) and `cache-control: no-cache` (the names
 * carry no hash, so browsers revalidate).
 *
 * @example
 * ```ts
 * serveConsoleFiles(app, '/opt/sigil/app/node_modules/@sigil/console/dist');
 * ```
 */
export function serveConsoleFiles(app: FastifyInstance, dir: string): void {
  for (const [name, file] of readConsoleFiles(dir)) {
    const paths = name === 'index.html' ? ['/', '/index.html'] : [`/${name}`];
    for (const path of paths)
      app.get(path, { schema: { hide: true } }, async (request, reply) => {
        reply.header('etag', file.etag).header('cache-control', 'no-cache');
        if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
        return reply.type(file.contentType).send(file.body);
      });
  }
}
