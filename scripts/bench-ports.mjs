#!/usr/bin/env node
// Issue 4's benchmark: nginx in a pod serving a 1 KiB and a 10 MiB file,
// measured with wrk (Debian `wrk`) through nsbox's builtin port forwarder,
// through pasta (Debian `passt`) attached to the same pod with the arguments
// `--network pasta` uses, and from inside the pod's network namespace
// (direct). Prints medians of requests/s and of transfer bytes/s, the ratios
// against direct and pasta, and PASS/MISS/N/A against the issue's targets.
// pasta is skipped, with the reason, where it cannot run (no passt, or a
// /dev/net/tun this user cannot open).
//
//   node scripts/bench-ports.mjs [--duration S] [--runs N] [--format table|json]
//
// Everything happens under a private temporary state root (mode 0700) that is
// removed at the end, also on errors and on SIGINT/SIGTERM/SIGHUP.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  cliPath,
  cleanupOnSignals,
  closingLines,
  machineInfo,
  machineLine,
  makeStateRoot,
  median,
  parseBenchArgs,
  progress,
  progressDone,
  ratioOf,
  removeCliPods,
  removeStateRoot,
  repo,
  round,
  runMain,
  target,
  writeReport,
} from './lib/bench.mjs';
import { ensureSystemPackages, which } from './lib/system-packages.mjs';

const NAME = 'bench-ports';
const WRK_THREADS = 2;
const WRK_CONNECTIONS = 32;
const TARGETS = { mib10OverDirect: 0.6 };
const FILES = [
  { key: '1k', path: '/1k', label: '1 KiB' },
  { key: '10m', path: '/10m', label: '10 MiB' },
];

const usageText = `usage: ${NAME} [--duration S] [--runs N] [--format table|json]

nginx in a pod serving a 1 KiB and a 10 MiB file, measured with wrk
(-t${WRK_THREADS} -c${WRK_CONNECTIONS} -dS), N runs each, medians of requests/s and transfer/s:
  builtin: wrk on the host against the port nsbox's forwarder publishes
  direct:  wrk inside the pod's network namespace against 127.0.0.1:80
  pasta:   wrk on the host against a port pasta (attached to the same pod) publishes

  --duration S   seconds per wrk run (default 5)
  --runs N       wrk runs per figure (default 3)
  --format F     table (default) or json
`;
const opts = parseBenchArgs(process.argv.slice(2), {
  name: NAME,
  usageText,
  extra: { duration: { flag: 'duration', min: 1, default: 5 }, runs: { flag: 'runs', min: 1, default: 3 } },
});

// ---------------------------------------------------------------- state and cleanup

let stateRoot = null;
let cleanedUp = false;
let interrupted = false;
const children = new Set();

function cleanupSync(problems = []) {
  if (cleanedUp || !stateRoot) return;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  removeCliPods(stateRoot, problems);
  return problems;
}

async function cleanup() {
  if (cleanedUp || !stateRoot) return;
  const problems = cleanupSync([]);
  cleanedUp = true;
  await removeStateRoot(stateRoot, problems);
  for (const p of problems) process.stderr.write(`${NAME}: cleanup: ${p}\n`);
}

process.on('exit', () => {
  // last resort: no event loop here, so only the pods (the root may stay behind)
  if (!cleanedUp && stateRoot) cleanupSync([]);
});
cleanupOnSignals(NAME, cleanup, () => (interrupted = true));

// ---------------------------------------------------------------- helpers

function nsbox(args, { timeout = 120_000 } = {}) {
  const r = spawnSync(process.execPath, [cliPath, '--root', stateRoot, ...args], { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new Error(`nsbox ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`\`nsbox ${args.join(' ')}\` failed (exit ${r.status ?? 'signal ' + r.signal}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** Runs a command asynchronously (so signals are handled meanwhile); resolves with its output. */
function run(cmd, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      children.delete(child);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code !== 0) reject(new Error(`\`${[cmd, ...args].join(' ')}\` failed (exit ${code ?? 'signal ' + signal}): ${(stderr || stdout).trim()}`));
      else resolve(stdout);
    });
  });
}

/** A free TCP port on 127.0.0.1, found by binding port 0. */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const UNITS = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };

/** Requests/s and transfer bytes/s from wrk's output (its units are binary). */
export function parseWrk(out) {
  const req = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(out);
  const tr = /^Transfer\/sec:\s+([\d.]+)\s*([KMGT]?B)\s*$/m.exec(out);
  if (!req || !tr) throw new Error(`cannot parse wrk's output: ${out.trim().split('\n').slice(-3).join(' | ')}`);
  const errors = /^\s+Non-2xx or 3xx responses:\s+(\d+)/m.exec(out) || /^\s+Socket errors:.*$/m.exec(out);
  return { reqPerSec: Number(req[1]), bytesPerSec: Number(tr[1]) * UNITS[tr[2]], errors: errors ? errors[0].trim() : null };
}

const fmtRate = (x) => (x == null ? '-' : x >= 1e4 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
const fmtBytes = (b) => {
  if (b == null) return '-';
  for (const [u, m] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]]) if (b >= m) return `${(b / m).toFixed(b / m >= 100 ? 0 : 2)} ${u}/s`;
  return `${b.toFixed(0)} B/s`;
};

// ---------------------------------------------------------------- the benchmark

async function waitHttp(url, ms) {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await r.arrayBuffer();
      if (r.ok && body.byteLength === 1024) return;
      last = `HTTP ${r.status}, ${body.byteLength} bytes`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms / 1000} s (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function wrkRows(label, argvFor, results, key) {
  const samples = [];
  for (const f of FILES) {
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      progress(`${label} ${f.label} ${i + 1}/${opts.runs}`);
      const [cmd, ...args] = argvFor(f.path);
      runs.push(parseWrk(await run(cmd, args, (opts.duration + 60) * 1000)));
    }
    const req = runs.map((r) => r.reqPerSec).sort((a, b) => a - b);
    const bytes = runs.map((r) => r.bytesPerSec).sort((a, b) => a - b);
    results[`${key}_${f.key}`] = {
      mode: key,
      file: f.label,
      label: `${label}, ${f.label}`,
      reqPerSec: round(median(req), 2),
      bytesPerSec: round(median(bytes), 0),
      runs: runs.map((r) => ({ reqPerSec: r.reqPerSec, bytesPerSec: round(r.bytesPerSec, 0), ...(r.errors ? { errors: r.errors } : {}) })),
    };
    samples.push(...runs.filter((r) => r.errors).map((r) => `${label} ${f.label}: ${r.errors}`));
  }
  return samples;
}

/**
 * pasta attached to the running pod with the arguments `--network pasta`
 * uses, publishing its own host port to the pod's :80. Resolves {port} once
 * pasta wrote its pid file, or {skipped: reason}.
 */
async function startPasta(pausePid) {
  const { pastaSupport } = await import(pathToFileURL(join(repo, 'dist', 'net', 'pasta-support.js')).href);
  const { pastaArgs } = await import(pathToFileURL(join(repo, 'dist', 'net', 'pasta.js')).href);
  const support = pastaSupport();
  if (!support.ok) return { skipped: `${support.problem} (fix: ${support.fix})` };
  const port = await freePort();
  const pidFile = join(stateRoot, 'pasta.pid');
  const mapping = { hostIp: '127.0.0.1', hostPort: port, podPort: 80, protocol: 'tcp' };
  const child = spawn(support.pasta, pastaArgs(pausePid, [mapping], pidFile, process.getuid() === 0), { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 10_000;
  while (!(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const why = stderr.split('\n').filter((l) => l && !l.includes('syslog')).pop() ?? `exit ${child.exitCode}`;
      return { skipped: `pasta did not start: ${why}` };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await waitHttp(`http://127.0.0.1:${port}/1k`, 10_000);
  return { port };
}

async function main() {
  if (!existsSync(cliPath)) throw new Error('nsbox is not built: run `npm run build` first');
  ensureSystemPackages([{ pkg: 'wrk', provides: 'wrk', ok: () => which('wrk') != null }], NAME);
  const wrk = which('wrk');
  const machine = machineInfo();
  stateRoot = makeStateRoot('nsbox-bench-ports-');

  progress('building the nginx rootfs (cached)');
  const { buildRootfs } = await import('../rootfs/build.mjs');
  const tar = await buildRootfs('nginx', { log: false });
  if (interrupted) return;
  progress('importing the nginx image');
  nsbox(['image', 'import', tar, '--name', 'nginx'], { timeout: 600_000 });
  const port = await freePort();
  progress('creating the pod');
  nsbox(['pod', 'create', '--name', 'bench', '-p', `127.0.0.1:${port}:80`]);
  const inspect = JSON.parse(nsbox(['pod', 'inspect', 'bench']));
  progress('starting nginx');
  nsbox([
    'run', '-d', '--pod', 'bench', '--name', 'nginx', 'nginx', 'sh', '-c',
    'head -c 1024 /dev/urandom > /var/www/html/1k; head -c 10485760 /dev/urandom > /var/www/html/10m; exec nginx -g "daemon off;"',
  ]);
  await waitHttp(`http://127.0.0.1:${port}/1k`, 30_000);

  const results = {};
  const notes = [];
  const wrkArgs = ['-t', String(WRK_THREADS), '-c', String(WRK_CONNECTIONS), '-d', `${opts.duration}s`];
  const problems = [];
  problems.push(...(await wrkRows('builtin forwarder (host → 127.0.0.1:PORT)', (p) => [wrk, ...wrkArgs, `http://127.0.0.1:${port}${p}`], results, 'builtin')));
  problems.push(
    ...(await wrkRows(
      'direct (wrk in the pod netns → 127.0.0.1:80)',
      (p) => [process.execPath, cliPath, '--root', stateRoot, 'exec', '--join', 'pause', 'bench', '--', wrk, ...wrkArgs, `http://127.0.0.1:80${p}`],
      results,
      'direct',
    )),
  );
  const pasta = await startPasta(inspect.record.pause.pid);
  if (pasta.port) {
    problems.push(...(await wrkRows('pasta (host → 127.0.0.1:PORT)', (p) => [wrk, ...wrkArgs, `http://127.0.0.1:${pasta.port}${p}`], results, 'pasta')));
  } else {
    notes.push(`pasta: skipped: ${pasta.skipped}`);
    results.pasta_1k = { mode: 'pasta', file: '1 KiB', skipped: pasta.skipped };
    results.pasta_10m = { mode: 'pasta', file: '10 MiB', skipped: pasta.skipped };
  }
  progressDone();
  for (const p of problems) notes.push(`wrk reported errors: ${p}`);

  const b1 = results.builtin_1k.reqPerSec;
  const d1 = results.direct_1k.reqPerSec;
  const b10 = results.builtin_10m.bytesPerSec;
  const d10 = results.direct_10m.bytesPerSec;
  const ratios = [
    ratioOf('1 KiB requests/s builtin', b1, 'direct', d1, (r) => `1 KiB requests/s: builtin ${fmtRate(b1)} / direct ${fmtRate(d1)} = ${r.toFixed(2)}`),
    ratioOf('10 MiB throughput builtin', b10, 'direct', d10, (r) => `10 MiB throughput: builtin ${fmtBytes(b10)} / direct ${fmtBytes(d10)} = ${r.toFixed(2)}`),
  ];
  const p1 = results.pasta_1k.reqPerSec ?? null;
  const p10 = results.pasta_10m.bytesPerSec ?? null;
  if (p1 !== null) {
    ratios.push(ratioOf('1 KiB requests/s builtin', b1, 'pasta', p1, (r) => `1 KiB requests/s: builtin ${fmtRate(b1)} / pasta ${fmtRate(p1)} = ${r.toFixed(2)}`));
    ratios.push(ratioOf('10 MiB throughput pasta', p10, 'direct', d10, (r) => `10 MiB throughput: pasta ${fmtBytes(p10)} / direct ${fmtBytes(d10)} = ${r.toFixed(2)}`));
  } else ratios.push({ what: '1 KiB requests/s builtin', vs: 'pasta', ratio: null, text: `1 KiB requests/s builtin vs pasta: not measured (${results.pasta_1k.skipped})` });
  const r10 = d10 ? b10 / d10 : null;
  const targets = [
    p1 !== null
      ? target('1 KiB requests/s', "≥ pasta's, on the same run", b1 / p1, '×', b1 >= p1, `builtin ${fmtRate(b1)} req/s vs pasta ${fmtRate(p1)} req/s`)
      : target('1 KiB requests/s', "≥ pasta's, on the same run", null, 'req/s', null, `builtin ${fmtRate(b1)} req/s; pasta not measured`),
    target('10 MiB throughput', `≥ ${TARGETS.mib10OverDirect} × direct`, r10, '×', r10 >= TARGETS.mib10OverDirect, `builtin/direct = ${r10?.toFixed(2)} (${fmtBytes(b10)} / ${fmtBytes(d10)})`),
  ];
  const report = {
    machine,
    wrk: { path: wrk, threads: WRK_THREADS, connections: WRK_CONNECTIONS, durationSeconds: opts.duration, runs: opts.runs },
    stateRoot,
    port,
    idMapping: inspect.record?.mapping ?? null,
    pastaPort: pasta.port ?? null,
    results,
    ratios,
    targets,
    notes,
    warnings: [],
  };
  await cleanup();
  writeReport(report, opts.format, printTable);
}

// ---------------------------------------------------------------- output

function printTable(report) {
  const m = report.machine;
  const out = [];
  out.push(`nsbox ${NAME}`);
  out.push(machineLine(m));
  out.push(`  kernel:   ${m.kernel}    node: ${m.node}`);
  out.push(`  running:  ${m.privilege} (uid ${m.uid}, ${m.user}); id mapping: ${report.idMapping ?? '-'}`);
  out.push(`  wrk:      ${report.wrk.path} -t${report.wrk.threads} -c${report.wrk.connections} -d${report.wrk.durationSeconds}s, ${report.wrk.runs} run(s) per figure, medians`);
  out.push(`  state:    private root ${report.stateRoot} (removed at the end); published 127.0.0.1:${report.port} → pod :80${report.pastaPort ? `, pasta 127.0.0.1:${report.pastaPort} → pod :80` : ''}`);
  out.push('');
  const rows = Object.values(report.results);
  const w = Math.max(...rows.map((r) => (r.label ?? `pasta, ${r.file}`).length), 'row'.length);
  out.push(`  ${'row'.padEnd(w)}  ${'req/s'.padStart(9)}  ${'transfer/s'.padStart(12)}  per-run req/s`);
  for (const r of rows) {
    if (r.skipped) out.push(`  ${`pasta, ${r.file}`.padEnd(w)}  ${'skipped'.padStart(9)}  ${''.padStart(12)}  (${r.skipped})`);
    else out.push(`  ${r.label.padEnd(w)}  ${fmtRate(r.reqPerSec).padStart(9)}  ${fmtBytes(r.bytesPerSec).padStart(12)}  ${r.runs.map((x) => fmtRate(x.reqPerSec)).join(', ')}`);
  }
  out.push('');
  out.push('Notes');
  out.push(...closingLines(report, 'Targets (issue 4)'));
  process.stdout.write(out.join('\n') + '\n');
}

await runMain(NAME, main, cleanup, () => interrupted);
