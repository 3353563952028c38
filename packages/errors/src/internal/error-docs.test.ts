import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isSigilErrorCode, listErrorCodes } from '../index';
import { ERROR_DOCS_PATH, renderErrorDocs } from './error-docs';

const root = join(__dirname, '..', '..', '..', '..');

/** Error codes of other libraries that Sigil's sources match on; not Sigil's to catalogue. */
const FOREIGN_CODES = new Set([
  'ERR_JOSE_GENERIC', // jose
  'ERR_TLS_CERT_ALTNAME_INVALID', // Node.js tls
  'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', // OpenSSL, via Node.js
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
]);
const SOURCE_DIRS = ['packages', 'services', 'examples', 'e2e', 'scripts', 'k8s', 'bench', 'proto'];
const SKIP = new Set(['node_modules', 'dist', 'gen', 'coverage', '.turbo']);

function* sourceFiles(dir: string): Generator<string> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) yield path;
  }
}

/** Every quoted `ERR_...` literal in the repository's sources, with the files using it. */
function codesInSources(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(join(root, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
        found.set(match[1]!, [...(found.get(match[1]!) ?? []), relative(root, file)]);
      }
    }
  }
  return found;
}

describe('docs/errors.md', () => {
  it('is current: regenerate it with `pnpm docs:errors`', () => {
    expect(readFileSync(join(root, ERROR_DOCS_PATH), 'utf8')).toBe(renderErrorDocs());
  });

  it('has one section, with a stable anchor, per code', () => {
    const text = renderErrorDocs();
    for (const code of listErrorCodes()) {
      expect(text).toContain(`\n### ${code}\n`);
      expect(text).toContain(`](#${code.toLowerCase()})`);
    }
  });
});

describe('the catalogue against the sources', () => {
  const used = codesInSources();

  it('holds every error code the sources use', () => {
    const missing = [...used]
      .filter(([code]) => !FOREIGN_CODES.has(code) && !isSigilErrorCode(code))
      .map(([code, files]) => `${code} (${files[0]})`);
    expect(missing).toEqual([]);
  });

  it('holds no code that nothing outside @sigil/errors uses', () => {
    const outside = (code: string): boolean =>
      (used.get(code) ?? []).some((file) => !file.startsWith(join('packages', 'errors')));
    expect(listErrorCodes().filter((code) => !outside(code))).toEqual([]);
  });
});
