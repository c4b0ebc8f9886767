#!/usr/bin/env node
// Shows that the suite's guards can fail: each mutation breaks one
// property nsbox promises (an isolation step, a cleanup, a check) in a
// scratch copy of the tree, rebuilds it, and runs the test that guards the
// property. The mutation is caught when that test fails. First, the same
// tests run on the unmutated copy and must pass, or "caught" would mean
// nothing. Run as root (the tests run as root there; add --rootless to also
// run them rootless as nsbox-ci through scripts/test.mjs).
//
//   node scripts/mutation-check.mjs [--only NAME[,NAME...]] [--list] [--rootless]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MUTATIONS } from './lib/mutations.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { only: { type: 'string' }, list: { type: 'boolean' }, rootless: { type: 'boolean' } } });

if (opts.list) {
  for (const m of MUTATIONS) console.log(`${m.name.padEnd(28)} ${m.why}`);
  process.exit(0);
}
if (process.getuid() !== 0) {
  console.error('mutation-check: run as root (the guarded tests run in root mode, and rootless as nsbox-ci with --rootless)');
  process.exit(2);
}
const only = opts.only ? new Set(opts.only.split(',')) : null;
const chosen = MUTATIONS.filter((m) => !only || only.has(m.name));
if (only && chosen.length !== only.size) {
  console.error(`mutation-check: unknown mutation(s): ${[...only].filter((n) => !MUTATIONS.some((m) => m.name === n)).join(', ')} (see --list)`);
  process.exit(2);
}

/** A copy of what git tracks (and untracked files it does not ignore), sharing the repo's node_modules. */
function scratchCopy() {
  const dir = mkdtempSync(join(tmpdir(), 'nsbox-mutation-'));
  const files = spawnSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repo, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    try {
      cpSync(join(repo, f), join(dir, f), { verbatimSymlinks: true });
    } catch {
      // deleted in the working tree
    }
  }
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function build(dir) {
  const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs')], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? null : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
}

/**
 * Runs the guarding tests: 'pass', 'fail', or 'none' when the name filter
 * matched no test (a guard that runs nothing proves nothing).
 */
function runTests(dir, tests, grep) {
  const grepArgs = grep ? ['-t', grep] : [];
  if (opts.rootless) {
    const r = spawnSync(process.execPath, [join(dir, 'scripts', 'test.mjs'), ...tests, ...grepArgs], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, NSBOX_SKIP_BLOG: '1' } });
    const passed = /^(\d+) passed, (\d+) failed$/m.exec(r.stdout ?? '');
    if (passed && Number(passed[1]) + Number(passed[2]) === 0) return 'none';
    return r.status === 0 ? 'pass' : 'fail';
  }
  const report = join(dir, '.mutation-report.json');
  rmSync(report, { force: true });
  const r = spawnSync(process.execPath, [join(dir, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`, ...tests, ...grepArgs], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NSBOX_TEST_MODE: 'root' },
  });
  let ran = -1;
  try {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    ran = (Number(j.numPassedTests) || 0) + (Number(j.numFailedTests) || 0);
  } catch {
    // no report: the run itself failed
  }
  if (ran === 0) return 'none';
  return r.status === 0 ? 'pass' : 'fail';
}

/**
 * A mutant may leak exactly what its test looks for (a forwarder, a pause):
 * end every process that runs a program of the scratch copy, by pid.
 */
function killLeftovers(dir) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let exe = '';
    let cmdline = '';
    try {
      exe = readlinkSync(`/proc/${entry}/exe`);
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    if (exe.startsWith(dir) || cmdline.includes(dir)) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function apply(dir, m) {
  const originals = new Map();
  for (const e of m.edits) {
    const path = join(dir, e.file);
    const text = originals.get(path) ?? readFileSync(path, 'utf8');
    originals.set(path, text);
    const current = readFileSync(path, 'utf8');
    const count = current.split(e.find).length - 1;
    if (count !== 1) {
      restore(originals);
      return { error: `${e.file}: the text to change is there ${count} times, not once: update the mutation` };
    }
    writeFileSync(path, current.replace(e.find, e.replace));
  }
  return { originals };
}

function restore(originals) {
  for (const [path, text] of originals) writeFileSync(path, text);
}

const dir = scratchCopy();
const results = [];
try {
  const buildError = build(dir);
  if (buildError) throw new Error(`the unmutated copy does not build: ${buildError}`);
  for (const m of chosen) {
    process.stdout.write(`${m.name}: `);
    const baseline = runTests(dir, m.tests, m.grep);
    if (baseline !== 'pass') {
      results.push({ m, outcome: baseline === 'none' ? 'NO TESTS' : 'BASELINE FAILS' });
      console.log(baseline === 'none' ? `the filter ${JSON.stringify(m.grep)} matches no test` : 'the guarding tests fail without the mutation');
      continue;
    }
    const applied = apply(dir, m);
    if (applied.error) {
      results.push({ m, outcome: 'STALE' });
      console.log(applied.error);
      continue;
    }
    const err = build(dir);
    const outcome = err ? 'BUILD FAILS' : runTests(dir, m.tests, m.grep) === 'fail' ? 'caught' : 'MISSED';
    killLeftovers(dir);
    restore(applied.originals);
    const rebuildError = build(dir); // the next baseline runs the unmutated build
    if (rebuildError) throw new Error(`the copy does not build after restoring ${m.name}: ${rebuildError}`);
    results.push({ m, outcome });
    console.log(outcome + (err ? ` (${err})` : ''));
  }
} finally {
  killLeftovers(dir);
  rmSync(dir, { recursive: true, force: true });
}

console.log('\nmutation                     outcome  guarded by');
for (const { m, outcome } of results) console.log(`${m.name.padEnd(28)} ${outcome.padEnd(8)} ${m.tests.join(' ')}${m.grep ? ` -t "${m.grep}"` : ''}`);
const caught = results.filter((r) => r.outcome === 'caught').length;
console.log(`\n${caught} of ${results.length} mutations caught (${opts.rootless ? 'rootless and root' : 'root mode'})`);
process.exit(caught === results.length ? 0 : 1);
