// One name for the admin token everywhere: the controller reads SIGIL_ADMIN_TOKEN, `sigil admin`
// reads SIGIL_ADMIN_TOKEN (or SIGIL_ADMIN_TOKEN_FILE), so every doc, script, manifest and example
// that holds the token in a variable uses that name, and a copied command works with the others.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const SCANNED = ['README.md', 'docs', 'scripts', 'k8s', 'examples', 'deploy'];
const TEXT = /\.(md|js|ts|sh|ya?ml|json|env)$/;
const ALLOWED = new Set(['SIGIL_ADMIN_TOKEN', 'SIGIL_ADMIN_TOKEN_FILE']);
// Any shell or environment name for an admin token or bearer (ADMIN_TOKEN, SIGIL_ADMIN_BEARER, ...).
const ADMIN_NAME = /\b[A-Z][A-Z0-9_]*ADMIN[A-Z0-9_]*(?:TOKEN|BEARER)[A-Z0-9_]*\b/g;
// An admin API call with the token in some other variable (`Bearer $TOKEN`).
const ADMIN_CALL = /Bearer \$\{?([A-Za-z_][A-Za-z0-9_]*)\}?[^\n]*(?:\n[^\n]*)?\/api\/admin\//g;

function files(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return [];
  }
  if (stat.isFile()) return TEXT.test(path) ? [path] : [];
  return readdirSync(path)
    .filter((name) => name !== 'node_modules' && name !== 'dist')
    .flatMap((name) => files(join(path, name)));
}

describe('the admin token has one name', () => {
  const scanned = SCANNED.flatMap((entry) => files(join(ROOT, entry)));

  it('scans the docs, scripts, manifests and examples', () => {
    expect(scanned.map((file) => relative(ROOT, file))).toEqual(
      expect.arrayContaining(['README.md', 'docs/admin-api.md', 'scripts/demo.js']),
    );
  });

  it('is SIGIL_ADMIN_TOKEN (or SIGIL_ADMIN_TOKEN_FILE) wherever a variable holds it', () => {
    const others = scanned.flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const names = [...text.matchAll(ADMIN_NAME)].map((m) => m[0]).filter((n) => !ALLOWED.has(n));
      const calls = [...text.matchAll(ADMIN_CALL)]
        .map((m) => m[1]!)
        .filter((n) => n !== 'SIGIL_ADMIN_TOKEN');
      return [...new Set([...names, ...calls])].map((name) => `${relative(ROOT, file)}: ${name}`);
    });
    expect(others).toEqual([]);
  });
});
