// What the benchmark scripts (bench-pods, -containers, -ports, -blog) share: their
// command line, progress output, statistics, results and targets, the table
// they print, the cleanup of pods the CLI left behind and the main wrapper.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repo, 'dist', 'cli', 'nsbox.cjs'); // the bin users run
export const libPath = join(repo, 'dist', 'index.js');

/** The signals after which the scripts clean up and exit. */
export const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

// ---------------------------------------------------------------- arguments

/** Writes "NAME: MESSAGE" to stderr and exits 2, as for any usage error. */
export function usageError(name, message) {
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(2);
}

/**
 * Parses the flags both scripts take — --iterations/-n N (≥ 1, default 20),
 * --warmups N (≥ 0, default 2), --format table|json, --json, -h/--help — plus
 * the integer flags in `extra` ({ optKey: { flag, min, default } }).
 * Arguments are handled in order: the first bad one exits 2 with one line
 * ("NAME: …"), --help prints `usageText` to stdout and exits 0.
 */
export function parseBenchArgs(argv, { name, usageText, extra = {} }) {
  const ints = { iterations: { flag: 'iterations', short: 'n', min: 1, default: 20 }, warmups: { flag: 'warmups', min: 0, default: 2 }, ...extra };
  const options = { format: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };
  const byFlag = new Map();
  for (const [key, spec] of Object.entries(ints)) {
    options[spec.flag] = { type: 'string', ...(spec.short ? { short: spec.short } : {}) };
    byFlag.set(spec.flag, { key, ...spec });
  }
  const opts = { ...Object.fromEntries(Object.entries(ints).map(([k, s]) => [k, s.default])), format: 'table' };
  const fail = (message) => usageError(name, message);
  // Not strict: unknown arguments come back as tokens, reported here in order with our own message.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    const raw = argv[t.index];
    // Only whole flags: no "-nVALUE", "-n=VALUE" or "-hn" groups, positionals or "--".
    const known = t.kind === 'option' && Object.hasOwn(options, t.name) && (t.rawName.startsWith('--') || raw === t.rawName);
    if (!known) fail(`unknown argument ${JSON.stringify(raw)} (see --help)`);
    if (t.name === 'help') printUsage(usageText, 0);
    else if (t.name === 'json') opts.format = 'json';
    else if (t.value === undefined) fail(`${t.rawName} needs a value`);
    else if (t.name === 'format') {
      if (t.value !== 'table' && t.value !== 'json') fail(`--format must be table or json, got ${JSON.stringify(t.value)}`);
      opts.format = t.value;
    } else {
      const spec = byFlag.get(t.name);
      const n = Number(t.value);
      if (!Number.isInteger(n) || n < spec.min) fail(`${t.rawName} needs an integer ≥ ${spec.min}, got ${JSON.stringify(t.value)}`);
      opts[spec.key] = n;
    }
  }
  return opts;
}

/** Prints the usage, to stdout for exit code 0 and to stderr otherwise, and exits with `code`. */
export function printUsage(text, code) {
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

// ---------------------------------------------------------------- progress

/** Shows a one-line progress message on stderr, only when it is a terminal. */
export function progress(message) {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

/** Clears the progress line. */
export function progressDone() {
  if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}

// ---------------------------------------------------------------- statistics

/** Median of an ascending array; NaN when empty. */
export function median(sorted) {
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Median, p90, min, max and count of samples in ms. */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: median(sorted), p90Ms: percentile(sorted, 90), minMs: sorted[0], maxMs: sorted[sorted.length - 1], n: sorted.length };
}

/** x rounded to `digits` decimals, or null when it is not a finite number. */
export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

/** Milliseconds for display: 3 significant-ish digits, '-' when not measured. */
export function fmt(ms) {
  if (ms == null || !Number.isFinite(ms)) return '-';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

// ---------------------------------------------------------------- timing

/**
 * Runs a command to completion and returns its wall time with its exit status
 * and output; throws when it cannot start or (unless allowFail) exits non-zero.
 */
export function timed(cmd, args, { allowFail = false, env, timeout = 120_000, maxBuffer } = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: env ?? process.env, timeout, ...(maxBuffer ? { maxBuffer } : {}) });
  const ms = performance.now() - t0;
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !allowFail) {
    throw new Error(`\`${[cmd, ...args].join(' ')}\` failed (exit ${r.status ?? 'signal ' + r.signal}): ${(r.stderr || r.stdout).trim()}`);
  }
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Awaits fn() and returns its wall time and value. */
export async function timedAsync(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/**
 * Warm-ups then `iterations` measured runs of fn(i, warm) → ms, with progress;
 * `step` (optional) is awaited before each run. Returns the measured samples.
 */
export async function measure(label, fn, { iterations, warmups, step }) {
  const samples = [];
  const total = warmups + iterations;
  for (let i = 0; i < total; i++) {
    progress(`${label} ${i + 1}/${total}`);
    const warm = i < warmups;
    if (step) await step();
    const ms = await fn(i, warm);
    if (!warm) samples.push(ms);
  }
  return samples;
}

// ---------------------------------------------------------------- results

/**
 * The results of a run, keyed by figure, in insertion order (the table's):
 * record() stores samples with their summary, skip() a figure not measured and
 * med() gives a figure's median (null when skipped or absent).
 */
export function createResults() {
  const results = {};
  return {
    results,
    record(key, group, label, samples, extra = {}) {
      results[key] = { group, label, ...summarize(samples), samples: samples.map((s) => round(s, 3)), ...extra };
    },
    skip(key, group, label, reason) {
      results[key] = { group, label, skipped: reason };
    },
    med(key) {
      const r = results[key];
      return r && !r.skipped ? r.medianMs : null;
    },
  };
}

/** Rounds every summary figure of the results to µs, for the report. */
export function roundSummaries(results) {
  for (const r of Object.values(results)) for (const k of ['medianMs', 'p90Ms', 'minMs', 'maxMs']) if (k in r) r[k] = round(r[k], 3);
}

/**
 * A ratio of two medians, ms / peerMs, for the report; `text(ratio)` words it
 * when both were measured.
 */
export function ratioOf(what, ms, peerLabel, peerMs, text) {
  if (ms == null || peerMs == null) return { what, vs: peerLabel, ratio: null, text: `${what} vs ${peerLabel}: not measured` };
  const ratio = ms / peerMs;
  return { what, vs: peerLabel, ms: round(ms), peerMs: round(peerMs), ratio: round(ratio, 3), text: text(ratio) };
}

/** A performance target; pass is null when the value was not measured. */
export function target(name, goal, value, unit, pass, detail) {
  return { name, goal, value: round(value, 3), unit, pass: value == null ? null : pass, detail };
}

// ---------------------------------------------------------------- machine and output

/** This machine and user, as the report's header gives them. */
export function machineInfo() {
  const cpus = os.cpus();
  const uid = process.getuid();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    totalMemory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: os.release(),
    node: process.version,
    uid,
    privilege: uid === 0 ? 'root' : 'rootless',
    user: (() => {
      try {
        return os.userInfo().username;
      } catch {
        return String(uid);
      }
    })(),
  };
}

/** The header's machine line. */
export const machineLine = (m) => `  machine:  ${m.cpu}, ${m.cores} cores, ${m.totalMemory} RAM`;

/** Table lines of the results: median, p90 and n per figure, under a heading per group (groupName[group]). */
export function resultLines(results, groupName) {
  const out = [];
  const rows = Object.values(results);
  const w = Math.max(...rows.map((r) => r.label.length + 2), 'operation'.length);
  let group = null;
  out.push(`  ${'operation'.padEnd(w)}  ${'median'.padStart(8)}  ${'p90'.padStart(8)}  ${'n'.padStart(4)}`);
  for (const r of rows) {
    if (r.group !== group) {
      group = r.group;
      out.push(`  ${groupName[group]}`);
    }
    if (r.skipped) out.push(`    ${r.label.padEnd(w - 2)}  ${'skipped'.padStart(8)}  (${r.skipped})`);
    else out.push(`    ${r.label.padEnd(w - 2)}  ${fmt(r.medianMs).padStart(8)}  ${fmt(r.p90Ms).padStart(8)}  ${String(r.n).padStart(4)}`);
  }
  return out;
}

/**
 * The end of the table: the report's notes and nsbox's warnings (after the
 * script's own note lines), the Ratios section, then the Targets section
 * (PASS/MISS/N/A per target) under `targetsHeading`.
 */
export function closingLines(report, targetsHeading) {
  const out = [...report.notes.map((n) => `  - ${n}`), ...report.warnings.map((w) => `  - nsbox warned: ${w}`), ''];
  out.push('Ratios (medians)', ...report.ratios.map((r) => `  ${r.text}`), '', targetsHeading);
  const tw = Math.max(...report.targets.map((t) => t.name.length));
  const gw = Math.max(...report.targets.map((t) => t.goal.length));
  for (const t of report.targets) {
    const verdict = t.pass == null ? 'N/A ' : t.pass ? 'PASS' : 'MISS';
    out.push(`  ${verdict}  ${t.name.padEnd(tw)}  ${t.goal.padEnd(gw)}  ${t.detail}`);
  }
  return out;
}

// ---------------------------------------------------------------- state and cleanup

/** A private temporary directory (mode 0700) named PREFIX… under the temp dir. */
export function makeStateRoot(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  chmodSync(dir, 0o700);
  return dir;
}

/** Sends a signal (SIGKILL by default) to a pid that may be gone already. */
export function killPid(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Pods the CLI left in an nsbox root: removed with `nsbox pod rm -f`, and by
 * pid (the pause, a detached supervisor) as a last resort. Synchronous, so the
 * 'exit' handler can run it; what goes wrong is added to `problems`.
 */
export function removeCliPods(root, problems) {
  if (!existsSync(cliPath) || !existsSync(join(root, 'pods'))) return;
  const ls = spawnSync(process.execPath, [cliPath, '--root', root, 'pod', 'ls', '--format', 'json'], { encoding: 'utf8', timeout: 60_000 });
  let pods = [];
  try {
    pods = JSON.parse(ls.stdout || '[]');
  } catch {
    problems.push(`nsbox pod ls: ${(ls.stderr || ls.stdout).trim()}`);
  }
  for (const p of pods) {
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'pod', 'rm', '-f', p.id], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      problems.push(`nsbox pod rm -f ${p.name}: ${(r.stderr || '').trim()}`);
      // the pause takes the pod's processes (containers included) with it
      if (p.pausePid) killPid(p.pausePid);
      if (p.supervisorPid && p.supervisor === 'detached') killPid(p.supervisorPid);
    }
  }
}

/** Removes library pods (Pod handles) still in the set; failures go to `problems`. */
export async function removeLibPods(pods, problems) {
  for (const pod of pods) {
    try {
      await pod.remove({ force: true });
    } catch (err) {
      problems.push(`library pod ${pod.name}: ${err.message}`);
    }
  }
  pods.clear();
}

// ---------------------------------------------------------------- main

/** Imports the built library, after checking that nsbox is built. */
export async function loadNsbox() {
  if (!existsSync(cliPath) || !existsSync(libPath)) throw new Error('nsbox is not built: run `npm run build` first');
  return import(pathToFileURL(libPath).href);
}

/** Prints the report: as JSON, or with printTable(report). */
export function writeReport(report, format, printTable) {
  if (format === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else printTable(report);
}

/**
 * Runs main() and always cleanup() after it; an error is printed as one line
 * "NAME: message" with exit code 1, unless quiet() (e.g. after a signal).
 */
export async function runMain(name, main, cleanup, quiet = () => false) {
  try {
    await main();
  } catch (err) {
    progressDone();
    if (!quiet()) {
      process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  } finally {
    await cleanup();
  }
}

/** Removes a benchmark's private state root; rootless, its files may belong to subordinate ids. */
export async function removeStateRoot(stateRoot, problems) {
  try {
    if (process.getuid() === 0) rmSync(stateRoot, { recursive: true, force: true });
    else {
      const { removeTreeAsOwner } = await import(pathToFileURL(join(repo, 'dist', 'idmap', 'remove-tree.js')).href);
      await removeTreeAsOwner(stateRoot);
    }
  } catch (err) {
    problems.push(`removing ${stateRoot}: ${err.message}`);
  }
}

/** SIGINT/SIGTERM/SIGHUP: note the interruption, clean up, exit 130. */
export function cleanupOnSignals(name, cleanup, onInterrupt) {
  for (const sig of SIGNALS) {
    process.once(sig, () => {
      onInterrupt();
      progressDone();
      process.stderr.write(`${name}: ${sig}, cleaning up\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}
