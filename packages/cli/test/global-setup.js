// The real-process tests run dist/main.js: build the CLI and its workspace dependencies first.
// turbo replays its cache when nothing changed, so this is quick after `pnpm build`.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = function buildCli() {
  const root = path.resolve(__dirname, '..', '..', '..');
  const turbo = require.resolve('turbo/bin/turbo', { paths: [root] });
  const build = spawnSync(
    process.execPath,
    [turbo, 'run', 'build', '--filter=@sigil/cli', '--output-logs=errors-only'],
    { cwd: root, encoding: 'utf8' },
  );
  if (build.status !== 0) {
    throw new Error(`building @sigil/cli for its tests failed:\n${build.stdout}${build.stderr}`);
  }
};
