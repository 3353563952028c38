// Builds the console into dist/: index.html, app.js (Preact and the pages, bundled and minified by
// esbuild) and app.css. No inline script or style, so the admin server's CSP
// (`script-src 'self'; style-src 'self'`) holds.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const src = path.join(__dirname, 'src');
const dist = path.join(__dirname, 'dist');

async function main() {
  fs.rmSync(dist, { recursive: true, force: true });
  fs.mkdirSync(dist, { recursive: true });
  await esbuild.build({
    entryPoints: { app: path.join(src, 'main.tsx') },
    outdir: dist,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await esbuild.build({
    entryPoints: { app: path.join(src, 'app.css') },
    outdir: dist,
    bundle: true,
    minify: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'favicon.svg'])
    fs.copyFileSync(path.join(src, file), path.join(dist, file));
}

main().catch((err) => {
  console.error(`console build failed: ${err.message}`);
  process.exit(1);
});
