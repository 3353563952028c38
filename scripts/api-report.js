#!/usr/bin/env node
// API reports of every public package, from its built .d.ts (run `pnpm build` first; the
// `api:check` and `api:update` scripts do). One report per entry point in the package's
// "exports": `.` -> etc/<name>.api.md, `./testing` -> etc/<name>-testing.api.md.
//
//   node scripts/api-report.js           check: fail when a committed report differs from the API
//   node scripts/api-report.js --update  rewrite the reports
const fs = require('node:fs');
const path = require('node:path');
const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

const ROOT = path.resolve(__dirname, '..');
const CONFIG = path.join(ROOT, 'api-extractor.json');
const GROUPS = ['proto', 'packages/*', 'services/*'];
// What API Extractor says when the committed report is not the API (check) or was rewritten (update).
const REPORT_DIFFERS = new Set([
  'console-api-report-changed',
  'console-api-report-missing',
  'console-api-report-created',
  'console-api-report-copied',
  'console-api-report-not-copied',
]);

/** Every public (not `private`) workspace package with a TypeScript entry point. */
function publicPackages() {
  return GROUPS.flatMap((group) =>
    group.endsWith('/*')
      ? fs
          .readdirSync(path.join(ROOT, group.slice(0, -2)))
          .map((name) => path.join(ROOT, group.slice(0, -2), name))
      : [path.join(ROOT, group)],
  ).filter((dir) => {
    const file = path.join(dir, 'package.json');
    if (!fs.existsSync(file)) return false;
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    return pkg.private !== true && typeof pkg.types === 'string';
  });
}

/** The entry points of a package: [report name, .d.ts] for each subpath export with types. */
function entryPoints(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const unscoped = pkg.name.replace(/^@[^/]+\//, '');
  return Object.entries(pkg.exports ?? { '.': { types: pkg.types } })
    .filter(([, target]) => typeof target === 'object' && typeof target.types === 'string')
    .map(([subpath, target]) => ({
      main: subpath === '.',
      report: subpath === '.' ? unscoped : `${unscoped}-${subpath.replace(/^\.\//, '')}`,
      types: path.join(dir, target.types),
    }));
}

/**
 * API Extractor sees one entry point per run, so in a subpath's report (`./testing`) every type
 * that the subpath's signatures take from the main entry would show as a forgotten export and
 * every {@link} to the main entry as unresolved; the main entry's report covers those.
 */
function subpathMessages(messages) {
  return {
    ...messages,
    extractorMessageReporting: {
      ...messages.extractorMessageReporting,
      'ae-forgotten-export': { logLevel: 'none' },
      'ae-unresolved-link': { logLevel: 'none' },
    },
  };
}

function main() {
  const update = process.argv.includes('--update');
  const base = ExtractorConfig.loadFile(CONFIG);
  const stale = [];
  const failed = [];
  for (const dir of publicPackages()) {
    for (const entry of entryPoints(dir)) {
      const label = `${path.relative(ROOT, dir)} (${path.basename(entry.types)})`;
      if (!fs.existsSync(entry.types)) {
        failed.push(`${label}: ${path.relative(ROOT, entry.types)} is missing; run pnpm build`);
        continue;
      }
      const config = ExtractorConfig.prepare({
        configObject: {
          ...base,
          messages: entry.main ? base.messages : subpathMessages(base.messages),
          projectFolder: dir,
          mainEntryPointFilePath: entry.types,
          apiReport: { ...base.apiReport, reportFileName: `${entry.report}.api.md` },
        },
        configObjectFullPath: CONFIG,
        packageJsonFullPath: path.join(dir, 'package.json'),
      });
      if (update) fs.mkdirSync(config.reportFolder, { recursive: true });
      const messages = [];
      let differs = false;
      const result = Extractor.invoke(config, {
        localBuild: update,
        showVerboseMessages: false,
        messageCallback(message) {
          message.handled = true;
          if (message.logLevel === 'none' || message.logLevel === 'verbose') return;
          if (REPORT_DIFFERS.has(message.messageId)) {
            if (!differs) stale.push(path.relative(ROOT, config.reportFilePath));
            differs = true;
            return;
          }
          if (message.logLevel === 'info') return;
          messages.push(`  ${message.formatMessageWithLocation(dir)}`);
        },
      });
      if (messages.length > 0 || (!result.succeeded && !differs))
        failed.push(`${label}:\n${messages.join('\n')}`);
      else if (!differs)
        console.log(`api: ${label}: ${path.relative(ROOT, config.reportFilePath)} is current`);
    }
  }
  if (failed.length > 0) {
    console.error(`api: API Extractor reported problems:\n${failed.join('\n')}`);
    process.exitCode = 1;
  }
  if (stale.length > 0 && !update) {
    console.error(
      `api: these API reports do not match the public API:\n  ${stale.join('\n  ')}\n` +
        'If the change is intended, run `pnpm api:update` and commit the reports.',
    );
    process.exitCode = 1;
  } else if (stale.length > 0) {
    console.log(`api: updated ${stale.length} report(s):\n  ${stale.join('\n  ')}`);
  }
}

main();
