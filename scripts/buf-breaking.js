#!/usr/bin/env node
// `pnpm buf:breaking`: `buf breaking` on proto/ against the contracts as they were before this
// change. The baseline commit is:
//   - on a branch (HEAD is not main): where the branch left main, `git merge-base HEAD main`, so
//     that what main gained since does not read as a deletion;
//   - on main itself (CI's clone is main): the previous landing, HEAD~1;
//   - SIGIL_BUF_AGAINST=<rev>, when set: that revision.
// Without a baseline (a first commit, a shallow clone, proto/ absent there) it says why and passes.
// The baseline's proto/ is extracted with `git archive` into a temporary directory, which works
// from any clone or worktree.
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** The commit a revision names, or undefined when it names none here. */
function commitOf(rev) {
  const result = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], {
    cwd: root,
    encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The baseline revision and why it was chosen, or a reason there is none. */
function chooseBaseline() {
  const explicit = process.env.SIGIL_BUF_AGAINST;
  if (explicit) {
    const commit = commitOf(explicit);
    if (!commit) throw new Error(`SIGIL_BUF_AGAINST=${explicit} names no commit in this clone`);
    return { commit, why: `SIGIL_BUF_AGAINST=${explicit}` };
  }
  const head = commitOf('HEAD');
  if (!head) return { skip: 'not a git checkout with commits' };
  const main = commitOf('main') ?? commitOf('origin/main');
  if (main && main !== head) {
    const base = execFileSync('git', ['merge-base', head, main], { cwd: root, encoding: 'utf8' });
    return { commit: base.trim(), why: 'where this branch left main (git merge-base HEAD main)' };
  }
  const previous = commitOf('HEAD~1');
  if (!previous) return { skip: 'HEAD has no parent here (first commit or shallow clone)' };
  return { commit: previous, why: 'the previous landing on main (HEAD~1)' };
}

function main() {
  const baseline = chooseBaseline();
  if (baseline.skip) {
    console.log(`buf breaking: skipped: no baseline, ${baseline.skip}`);
    return 0;
  }
  const short = baseline.commit.slice(0, 12);
  const listed = spawnSync('git', ['ls-tree', '--name-only', baseline.commit, 'proto/buf.yaml'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (listed.stdout.trim() === '') {
    console.log(`buf breaking: skipped: ${short} has no proto/buf.yaml`);
    return 0;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-buf-against-'));
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', baseline.commit, 'proto'], {
      cwd: root,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    console.log(`buf breaking: proto/ against ${short}, ${baseline.why}`);
    const result = spawnSync(
      'pnpm',
      ['exec', 'buf', 'breaking', '--against', path.join(dir, 'proto')],
      {
        cwd: path.join(root, 'proto'),
        stdio: 'inherit',
      },
    );
    if (result.status === 0) console.log('buf breaking: no breaking change');
    return result.status ?? 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
