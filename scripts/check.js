#!/usr/bin/env node
// `pnpm test`: every check CI runs, in order, failing fast. Each step is one root package.json
// script, so a developer can run any step alone (`pnpm lint`, `pnpm typecheck`, ...). The last
// step is the Jest suite, so the last line printed is its `tests: N passed, N failed` summary.
//
//   node scripts/check.js            every step
//   node scripts/check.js lint ...   only the named steps, in the order below
//
// A failing step stops the run: its output is followed by one `check: ... failed` line naming the
// step and the command to rerun, and the exit code is the step's. docs/ci.md describes each step.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');

/** The steps, in order: a name and the root package.json script it runs. Add a check here. */
const steps = [
  { name: 'format', script: 'format:check' },
  { name: 'buf lint', script: 'buf:lint' },
  { name: 'buf breaking', script: 'buf:breaking' },
  { name: 'build', script: 'build' },
  { name: 'lint', script: 'lint' },
  { name: 'typecheck', script: 'typecheck' },
  { name: 'api reports', script: 'api:check' },
  { name: 'tests', script: 'test:unit' },
];

const root = path.resolve(__dirname, '..');

function selectSteps(names) {
  if (names.length === 0) return steps;
  const unknown = names.filter((name) => !steps.some((step) => step.script === name));
  if (unknown.length > 0) {
    console.error(
      `check: unknown step ${unknown.join(', ')} (steps: ${steps.map((s) => s.script).join(', ')})`,
    );
    process.exit(2);
  }
  return steps.filter((step) => names.includes(step.script));
}

function run(selected) {
  for (const [index, step] of selected.entries()) {
    const command = `pnpm run --silent ${step.script}`;
    console.log(`\n=== check ${index + 1}/${selected.length}: ${step.name} (${command}) ===`);
    const started = Date.now();
    const result = spawnSync('pnpm', ['run', '--silent', step.script], {
      cwd: root,
      stdio: 'inherit',
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const status = result.status ?? 1;
    if (status !== 0) {
      // After the tests (always the last step), say nothing more: their summary stays last.
      if (step !== steps[steps.length - 1]) {
        const why = result.error ? result.error.message : `exit code ${status}`;
        console.error(
          `\ncheck: step "${step.name}" failed (${why}) after ${seconds} s; rerun: ${command}`,
        );
      }
      process.exit(status);
    }
    if (step !== steps[steps.length - 1]) console.log(`=== ${step.name}: ok (${seconds} s) ===`);
  }
}

run(selectSteps(process.argv.slice(2)));
