#!/usr/bin/env node
// Measures nsbox containers against the targets of issues 3 and 14 in one run
// on this machine: `nsbox run -d` from the CLI (fresh processes) against
// `node -e 0`, `pod.run()` in this warm Node process, `nsbox image import` of
// the nginx rootfs tarball against `tar -xf` of the same file on the same
// filesystem, and a testcontainers-style start of busybox httpd (library
// GenericContainer with Wait.forHttp, the CLI with a curl loop, podman when
// installed). Prints medians and p90s, ratios and PASS/MISS per target.
//
//   node scripts/bench-containers.mjs [--iterations N] [--warmups N]
//                                     [--import-iterations N] [--import-warmups N]
//                                     [--format table|json]
//
// Everything happens under a private temporary directory (mode 0700, under
// $TMPDIR or /tmp) that is removed at the end, also on errors and on
// SIGINT/SIGTERM: pods are removed with nsbox, and trees holding files of
// subordinate ids are removed as their owner (nsbox's removeTreeAsOwner).
// The processes this script starts are ended by pid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  cliPath,
  closingLines,
  createResults,
  fmt,
  loadNsbox,
  machineInfo as baseMachineInfo,
  machineLine,
  makeStateRoot,
  measure as measureRuns,
  parseBenchArgs,
  progress,
  progressDone,
  ratioOf,
  removeCliPods,
  removeLibPods,
  repo,
  resultLines,
  round,
  roundSummaries,
  runMain,
  SIGNALS,
  target,
  timed as timedRun,
  timedAsync,
  writeReport,
} from './lib/bench.mjs';

const removeTreePath = join(repo, 'dist', 'idmap', 'remove-tree.js');
const mappingPath = join(repo, 'dist', 'idmap', 'mapping.js');
const rootfsBuildPath = join(repo, 'rootfs', 'build.mjs');

// issue 3, "Targets"; issue 14, "Benchmark"; issue 17, seccomp.
const TARGETS = {
  seccompCachedMs: 1, // run -d under the default profile, program cached, ≤ unconfined + 1 ms
  cliRunOverNode: 1.5, // nsbox run -d (busybox, existing pod) ≤ 1.5 × node -e 0
  libRunMs: 15, // pod.run() ≤ 15 ms
  importOverTar: 1.5, // nsbox image import ≤ 1.5 × tar -xf of the same file
  tcStartMs: 30, // issue 14: GenericContainer(busybox httpd).withWaitStrategy(Wait.forHttp).start() ≤ 30 ms
};

// ---------------------------------------------------------------- arguments

const usageText = `usage: bench-containers [--iterations N] [--warmups N] [--import-iterations N]
                        [--import-warmups N] [--format table|json]

Measures, in one run (median and p90 in ms, wall clock):
  node -e 0                            the floor of any Node CLI call (timed next to each run -d)
  nsbox --version                      loading the CLI alone (likewise)
  nsbox run -d … busybox sleep 1000    CLI, into an existing pod, until the process runs
  pod.run('busybox', …)                library API, in this warm process; and c.remove({force:true})
  pod create + first run               CLI and library, for context
  seccomp                              run -d and pod.run under the default profile against
                                       seccomp=unconfined, with the compiled program cached and cold
                                       (the cache emptied before each); compiling the profile alone
  nsbox image import NGINX.tar         CLI, a fresh image store each time, vs tar -xf of the same file
  GenericContainer(httpd).start()      library, testcontainers-style: busybox httpd with Wait.forHttp,
                                       from start() to ready; beside it the CLI (run -d -p, port, curl
                                       loop) and podman's run -d -p with the same loop when installed

  --iterations N          measured iterations per run/start figure (default 20)
  --warmups N             warm-up iterations per figure, not counted (default 2)
  --import-iterations N   measured imports (and tar extractions) (default 5; 0 skips the import)
  --import-warmups N      warm-up imports/extractions, not counted (default 1)
  --format F              table (default) or json

The nginx tarball comes from rootfs/ (cached under ~/.cache/nsbox/rootfs; the first
build takes ~20-30 s and needs the Debian mirror). Temporary state goes under $TMPDIR
(default /tmp): the imports and tar extractions share that filesystem.
`;
const opts = parseBenchArgs(process.argv.slice(2), {
  name: 'bench-containers',
  usageText,
  extra: {
    importIterations: { flag: 'import-iterations', min: 0, default: 5 },
    importWarmups: { flag: 'import-warmups', min: 0, default: 1 },
  },
});

function say(message) {
  progressDone();
  process.stderr.write(`bench-containers: ${message}\n`);
}

// ---------------------------------------------------------------- process helpers

/** Runs a command to completion and returns its wall time; nothing new starts after a signal. */
function timed(cmd, args, o = {}) {
  checkInterrupted();
  return timedRun(cmd, args, { timeout: 300_000, maxBuffer: 64 * 2 ** 20, ...o });
}

/** Warm-ups then N measured runs of fn(i, warm) → ms; a signal stops it between runs. */
function measure(label, fn, { iterations = opts.iterations, warmups = opts.warmups } = {}) {
  return measureRuns(label, fn, { iterations, warmups, step });
}

function procComm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

function firstLine(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout.split('\n')[0] ?? '').trim() : null;
}

function fsType(path) {
  // df names ext4 as such (stat -f says ext2/ext3 for all three)
  const r = spawnSync('df', ['--output=fstype,target', path], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.trim().split('\n')[1]?.trim() : null;
  if (!line) return firstLine('stat', ['-f', '-c', '%T', path]) ?? 'unknown';
  const [type, ...mount] = line.split(/\s+/);
  return `${type} on ${mount.join(' ')}`;
}

// ---------------------------------------------------------------- state and cleanup

const stateRoot = makeStateRoot('nsbox-bench-containers-');
const nsboxRoot = join(stateRoot, 'nsbox'); // --root of the run/start figures (pods and the busybox image)
mkdirSync(nsboxRoot, { mode: 0o700 });
const libPods = new Set(); // Pod handles created by this process
const extraRoots = new Set(); // fresh --root directories of imports, each removed after its import
let removeTreeAsOwner = null; // from dist, once loaded
let cleanedUp = false;
let cleaning = null;

function nsbox(args, o) {
  return timed(process.execPath, [cliPath, '--root', nsboxRoot, ...args], o);
}

/** Removes a tree that may hold files of subordinate ids (rootless) as their owner. */
async function removeTree(dir) {
  if (!existsSync(dir)) return;
  if (removeTreeAsOwner) await removeTreeAsOwner(dir);
  else rmSync(dir, { recursive: true, force: true });
}

/** The same without an event loop, for the 'exit' handler: a child node does it. */
function removeTreeSync(dir) {
  if (!existsSync(dir)) return null;
  try {
    rmSync(dir, { recursive: true, force: true });
    return null;
  } catch {
    // files of subordinate ids: remove them as their owner
  }
  const code = `const { removeTreeAsOwner } = await import(${JSON.stringify(pathToFileURL(removeTreePath).href)}); await removeTreeAsOwner(${JSON.stringify(dir)});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? null : `removing ${dir}: ${(r.stderr || `exit ${r.status}`).trim()}`;
}

async function cleanup() {
  if (cleanedUp) return;
  cleaning ??= (async () => {
    const problems = [];
    await removeLibPods(libPods, problems);
    removeCliPods(nsboxRoot, problems);
    for (const dir of [...extraRoots, stateRoot]) {
      try {
        await removeTree(dir);
      } catch (err) {
        problems.push(`removing ${dir}: ${err.message}`);
      }
    }
    extraRoots.clear();
    cleanupSync(problems);
  })();
  await cleaning;
}

/**
 * The part of the cleanup that needs no event loop, so the 'exit' handler can
 * run it too. Library pods left over then die with this process (nsbox kills
 * their pause on exit, and they have PDEATHSIG), and their containers with them.
 */
function cleanupSync(problems = []) {
  if (cleanedUp) return;
  cleanedUp = true;
  removeCliPods(nsboxRoot, problems);
  for (const dir of [...extraRoots, stateRoot]) {
    const p = removeTreeSync(dir);
    if (p) problems.push(p);
  }
  extraRoots.clear();
  for (const p of problems) process.stderr.write(`bench-containers: cleanup: ${p}\n`);
}

// A last resort when the process ends without reaching cleanup().
process.on('exit', () => cleanupSync());

// On a signal the benchmark stops at its next step (nothing new is started:
// see step() and timed()), and main's finally cleans up; a step that hangs,
// or a second signal, gets the cleanup and exit right away.
const abort = new AbortController(); // stops a rootfs build in progress
const signalNumber = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
let interrupted = null;

class Interrupted extends Error {}

function checkInterrupted() {
  if (interrupted) throw new Interrupted(interrupted);
}

/**
 * Between steps: lets the event loop run (a signal is handled there, and the
 * loops here are mostly synchronous spawns), then stops if one came.
 */
async function step() {
  await new Promise((resolve) => setImmediate(resolve));
  checkInterrupted();
}

function exitNow(sig) {
  void cleanup().finally(() => process.exit(128 + signalNumber[sig]));
}

for (const sig of SIGNALS) {
  process.on(sig, () => {
    if (interrupted) return exitNow(sig);
    interrupted = sig;
    process.exitCode = 128 + signalNumber[sig];
    say(`${sig}, cleaning up`);
    abort.abort(new Error(sig));
    setTimeout(() => exitNow(sig), 20_000).unref();
  });
}

// ---------------------------------------------------------------- the benchmark

const { results, record, skip, med } = createResults(); // key → { group, label, samples, ...summary } or { skipped }
const notes = [];
const warnings = new Set();
const info = { idMapping: {}, rootfsMode: null, tarballs: {} };

function describeMapping(m) {
  if (!m) return 'unknown';
  if (m.kind === 'root') return 'root (identity mapping of every id)';
  if (m.kind === 'full') return `full (uid ${m.uid} → 0, subuids ${m.subuid.start}-${m.subuid.start + m.subuid.count - 1} → 1-${m.subuid.count}; gid ${m.gid} → 0, subgids ${m.subgid.start}-${m.subgid.start + m.subgid.count - 1} → 1-${m.subgid.count})`;
  return `single (uid ${m.uid} → 0 only: ${m.reason})`;
}

async function machineInfo() {
  let mapping = null;
  try {
    const { chooseMapping } = await import(pathToFileURL(mappingPath).href);
    mapping = chooseMapping();
  } catch {
    // described from the pod records below instead
  }
  return {
    ...baseMachineInfo(),
    idMapping: describeMapping(mapping),
    tempDir: stateRoot,
    tempFs: fsType(stateRoot),
    tar: firstLine('tar', ['--version']) ?? 'not found',
  };
}

/** Checks, after the fact, that a container's process runs: its record says so and /proc has it. */
function checkRunning(rec, ref) {
  if (rec?.state !== 'running' || !rec.process?.pid) throw new Error(`${ref}: expected a running container, record says ${rec?.state} (${rec?.error ?? 'no error'})`);
  const comm = procComm(rec.process.pid);
  if (comm !== 'sleep') throw new Error(`${ref}: process ${rec.process.pid} is ${comm === null ? 'gone' : `"${comm}"`}, not sleep`);
  info.rootfsMode ??= rec.rootfs ?? null;
}

function cliContainer(podName, name) {
  const ps = JSON.parse(nsbox(['ps', '-a', '--pod', podName, '--format', 'json']).stdout);
  return ps.find((c) => c.name === name);
}

async function benchCliRun() {
  nsbox(['pod', 'create', '--name', 'cli-run']);
  const inspect = JSON.parse(nsbox(['pod', 'inspect', 'cli-run']).stdout);
  info.idMapping.cli = inspect.record?.mapping ?? null;
  const rmSamples = [];
  const nodeSamples = [];
  const loadSamples = [];
  // node -e 0 is timed in the same loop, right before each run -d, so that the
  // ratio compares the two under the same machine conditions.
  const runSamples = await measure('CLI run -d', (i, warm) => {
    const name = `c${i}`;
    const floor = timed(process.execPath, ['-e', '0']);
    const load = timed(process.execPath, [cliPath, '--version']);
    if (!warm) {
      nodeSamples.push(floor.ms);
      loadSamples.push(load.ms);
    }
    const r = nsbox(['run', '-d', '--pod', 'cli-run', '--name', name, 'busybox', 'sleep', '1000']);
    if (r.stdout.trim() !== `cli-run/${name}`) throw new Error(`nsbox run -d printed ${JSON.stringify(r.stdout)}, expected cli-run/${name}`);
    checkRunning(cliContainer('cli-run', name), `cli-run/${name}`);
    const rm = nsbox(['rm', '-f', `cli-run/${name}`]);
    if (!warm) rmSamples.push(rm.ms);
    return r.ms;
  });
  const left = JSON.parse(nsbox(['ps', '-a', '--pod', 'cli-run', '--format', 'json']).stdout);
  if (left.length) notes.push(`after ${opts.warmups + opts.iterations} × run -d and rm -f, ps -a still lists ${left.length} container(s) in the pod`);
  nsbox(['pod', 'rm', '-f', 'cli-run']);
  record('nodeE0', 'cli', 'node -e 0 (floor of any Node CLI call)', nodeSamples);
  record('cliVersion', 'cli', 'nsbox --version (loading the CLI, no work)', loadSamples);
  record('cliRun', 'cli', 'nsbox run -d busybox sleep 1000 (existing pod)', runSamples);
  record('cliRm', 'cli', 'nsbox rm -f POD/NAME (running sleep)', rmSamples);
}

async function benchLibRun(lib) {
  const onWarning = (m) => warnings.add(m);
  const pod = await lib.createPod({ root: nsboxRoot, name: 'lib-run', onWarning });
  libPods.add(pod);
  info.idMapping.library = pod.record.mapping ?? null;
  const rmSamples = [];
  const runSamples = await measure('library pod.run', async (i, warm) => {
    const name = `c${i}`;
    const r = await timedAsync(() => pod.run('busybox', { name, command: ['sleep', '1000'] }));
    checkRunning(r.value.record(), `lib-run/${name}`);
    const rm = await timedAsync(() => r.value.remove({ force: true }));
    if (!warm) rmSamples.push(rm.ms);
    return r.ms;
  });
  await pod.remove({ force: true });
  libPods.delete(pod);
  record('libRun', 'library', "pod.run('busybox', {command: ['sleep','1000']})", runSamples);
  record('libRm', 'library', 'c.remove({force: true}) (running sleep)', rmSamples);
}

/**
 * Issue 17: what the default seccomp profile costs a start. Each iteration
 * runs the three variants one after another (their order rotates), so they
 * share the machine's conditions: unconfined, the default profile with its
 * program cached, and the default profile with the cache emptied first
 * (untimed), which compiles it with libseccomp. The CLI's loop and the
 * library's are apart, so neither times the other's pod work.
 */
async function benchSeccomp(lib) {
  const cache = join(nsboxRoot, 'seccomp');
  const variants = {
    unconfined: ['--security-opt', 'seccomp=unconfined'],
    cached: [],
    cold: [],
  };
  const cli = { unconfined: [], cached: [], cold: [] };
  const library = { unconfined: [], cached: [], cold: [] };
  nsbox(['pod', 'create', '--name', 'sc-cli']);
  const pod = await lib.createPod({ root: nsboxRoot, name: 'sc-lib', onWarning: (m) => warnings.add(m) });
  libPods.add(pod);
  const total = opts.warmups + opts.iterations;
  const names = Object.keys(variants);
  const order = (i) => names.map((_, k) => names[(i + k) % names.length]);
  for (let i = 0; i < total; i++) {
    progress(`seccomp CLI run -d ${i + 1}/${total}`);
    await step();
    for (const v of order(i)) {
      if (v === 'cold') rmSync(cache, { recursive: true, force: true });
      const r = nsbox(['run', '-d', '--pod', 'sc-cli', '--name', `${v}${i}`, ...variants[v], 'busybox', 'sleep', '1000']);
      if (r.stdout.trim() !== `sc-cli/${v}${i}`) throw new Error(`nsbox run -d printed ${JSON.stringify(r.stdout)}`);
      if (i === 0) checkRunning(cliContainer('sc-cli', `${v}${i}`), `sc-cli/${v}${i}`);
      nsbox(['rm', '-f', `sc-cli/${v}${i}`]);
      if (i >= opts.warmups) cli[v].push(r.ms);
    }
  }
  for (let i = 0; i < total; i++) {
    progress(`seccomp pod.run ${i + 1}/${total}`);
    await step();
    for (const v of order(i)) {
      if (v === 'cold') rmSync(cache, { recursive: true, force: true });
      const securityOpt = v === 'unconfined' ? ['seccomp=unconfined'] : [];
      const l = await timedAsync(() => pod.run('busybox', { name: `${v}${i}`, command: ['sleep', '1000'], securityOpt }));
      if (i === 0) checkRunning(l.value.record(), `sc-lib/${v}${i}`);
      await l.value.remove({ force: true });
      if (i >= opts.warmups) library[v].push(l.ms);
    }
  }
  nsbox(['pod', 'rm', '-f', 'sc-cli']);
  await pod.remove({ force: true });
  libPods.delete(pod);
  // The compiler alone, in this process: a fresh cache each time, then the cached read.
  const { seccompProgram } = await import(pathToFileURL(join(repo, 'dist', 'container', 'seccomp.js')).href);
  const { DEFAULT_CAPABILITIES } = await import(pathToFileURL(join(repo, 'dist', 'container', 'capabilities.js')).href);
  const compileCold = [];
  const compileCached = [];
  let instructions = 0;
  for (let i = 0; i < total; i++) {
    await step();
    const dir = join(stateRoot, `seccomp-${i}`);
    mkdirSync(dir, { mode: 0o700 });
    const t0 = performance.now();
    const program = seccompProgram('default', DEFAULT_CAPABILITIES, dir);
    const t1 = performance.now();
    seccompProgram('default', DEFAULT_CAPABILITIES, dir);
    const t2 = performance.now();
    instructions = program.length / 8;
    rmSync(dir, { recursive: true, force: true });
    if (i >= opts.warmups) {
      compileCold.push(t1 - t0);
      compileCached.push(t2 - t1);
    }
  }
  record('scCliUnconfined', 'seccomp', 'CLI run -d, seccomp=unconfined', cli.unconfined);
  record('scCliCached', 'seccomp', 'CLI run -d, default profile (program cached)', cli.cached);
  record('scCliCold', 'seccomp', 'CLI run -d, default profile (cache empty: compiles)', cli.cold);
  record('scLibUnconfined', 'seccomp', 'pod.run, seccomp=unconfined', library.unconfined);
  record('scLibCached', 'seccomp', 'pod.run, default profile (program cached)', library.cached);
  record('scLibCold', 'seccomp', 'pod.run, default profile (cache empty: compiles)', library.cold);
  record('scCompileCold', 'seccomp', `compile the default profile (libseccomp, ${instructions} instructions, cache write)`, compileCold);
  record('scCompileCached', 'seccomp', 'the same, cached (read and hash)', compileCached);
}

async function benchFirstStart(lib) {
  // CLI: a fresh pod each time, then its first container.
  const createSamples = [];
  const runSamples = [];
  const bothSamples = [];
  const rmSamples = [];
  const total = opts.warmups + opts.iterations;
  for (let i = 0; i < total; i++) {
    progress(`CLI pod create + first run ${i + 1}/${total}`);
    await step();
    const pod = `cli-first-${i}`;
    const c = nsbox(['pod', 'create', '--name', pod]);
    const r = nsbox(['run', '-d', '--pod', pod, '--name', 'c', 'busybox', 'sleep', '1000']);
    if (i === 0) checkRunning(cliContainer(pod, 'c'), `${pod}/c`);
    const rm = nsbox(['pod', 'rm', '-f', pod]);
    if (i >= opts.warmups) {
      createSamples.push(c.ms);
      runSamples.push(r.ms);
      bothSamples.push(c.ms + r.ms);
      rmSamples.push(rm.ms);
    }
  }
  record('cliFirstCreate', 'first', 'CLI: nsbox pod create', createSamples);
  record('cliFirstRun', 'first', 'CLI: first nsbox run -d in the new pod', runSamples);
  record('cliFirstBoth', 'first', 'CLI: pod create + first run -d', bothSamples);
  record('cliFirstPodRm', 'first', 'CLI: nsbox pod rm -f (with its running container)', rmSamples);

  const onWarning = (m) => warnings.add(m);
  const lCreate = [];
  const lRun = [];
  const lBoth = [];
  const lRm = [];
  for (let i = 0; i < total; i++) {
    progress(`library createPod + first pod.run ${i + 1}/${total}`);
    await step();
    const c = await timedAsync(() => lib.createPod({ root: nsboxRoot, name: `lib-first-${i}`, onWarning }));
    libPods.add(c.value);
    const r = await timedAsync(() => c.value.run('busybox', { name: 'c', command: ['sleep', '1000'] }));
    if (i === 0) checkRunning(r.value.record(), `lib-first-${i}/c`);
    const rm = await timedAsync(() => c.value.remove({ force: true }));
    libPods.delete(c.value);
    if (i >= opts.warmups) {
      lCreate.push(c.ms);
      lRun.push(r.ms);
      lBoth.push(c.ms + r.ms);
      lRm.push(rm.ms);
    }
  }
  record('libFirstCreate', 'first', 'library: createPod', lCreate);
  record('libFirstRun', 'first', 'library: first pod.run in the new pod', lRun);
  record('libFirstBoth', 'first', 'library: createPod + first pod.run', lBoth);
  record('libFirstPodRm', 'first', 'library: pod.remove({force: true}) (with its running container)', lRm);
}

// ---------------------------------------------------------------- testcontainers-style start (issue 14)

/** busybox httpd serving "ok" at /: the same container for the library, the CLI and podman. */
const HTTPD_SCRIPT = 'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www';

/** GET http://127.0.0.1:PORT/ with curl, as a CI script polls: the status code, or null when nothing answers. */
function curlStatus(port) {
  const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout) : null;
}

/** GET / in this process until it answers 200, retrying at once (the floor of any wait for it). */
async function httpUntilOk(port) {
  const { get } = await import('node:http');
  const deadline = performance.now() + 30_000;
  for (;;) {
    const status = await new Promise((resolve) => {
      const req = get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', () => resolve(null));
    });
    if (status === 200) return;
    if (performance.now() > deadline) throw new Error(`http://127.0.0.1:${port}/ did not answer 200 within 30 s`);
  }
}

/** Spawns curl until it gets a 200 (no pause between tries: the fastest such a loop can be); returns how many tries. */
function curlUntilOk(port, what) {
  const deadline = performance.now() + 30_000;
  for (let tries = 1; ; tries++) {
    if (curlStatus(port) === 200) return tries;
    if (performance.now() > deadline) throw new Error(`${what}: http://127.0.0.1:${port}/ did not answer 200 within 30 s`);
  }
}

/** The host port `port` prints for 80/tcp ("80/tcp -> 127.0.0.1:PORT"). */
function portFrom(text, what) {
  const m = /^80\/tcp -> [\d.]+:(\d+)$/m.exec(text);
  if (!m) throw new Error(`${what}: port printed ${JSON.stringify(text)}, expected 80/tcp -> IP:PORT`);
  return Number(m[1]);
}

async function benchTestcontainers(lib, busyboxTar) {
  if (!which('curl')) throw new Error('curl is needed for the CLI poll loop (Debian curl)');
  // Library: from start() to ready (forHttp has seen 200), in this warm process.
  // Before each, untimed by the builder, the same by hand: createPod with the
  // port, pod.run, then GET until 200 (the floor under the builder, under the
  // same machine conditions).
  const stopSamples = [];
  const floorSamples = [];
  const libSamples = await measure('library GenericContainer.start()', async (i, warm) => {
    const f0 = performance.now();
    const pod = await lib.createPod({ root: nsboxRoot, name: `tc-floor-${i}`, ports: ['127.0.0.1::80'] });
    libPods.add(pod);
    await pod.run('busybox', { name: 'httpd', command: ['sh', '-c', HTTPD_SCRIPT] });
    await httpUntilOk(pod.record.ports[0].hostPort);
    if (!warm) floorSamples.push(performance.now() - f0);
    await pod.remove({ force: true });
    libPods.delete(pod);

    const builder = new lib.GenericContainer('busybox')
      .withRoot(nsboxRoot)
      .withName(`tc-${i}`)
      .withCommand(['sh', '-c', HTTPD_SCRIPT])
      .withExposedPorts(80)
      .withWaitStrategy(lib.Wait.forHttp('/', 80));
    const t = await timedAsync(() => builder.start());
    libPods.add(t.value.container.pod);
    const status = curlStatus(t.value.getMappedPort(80)); // untimed: it really answers
    if (status !== 200) throw new Error(`tc-${i}: GET / through the mapped port answered ${status}, expected 200`);
    const stop = await timedAsync(() => t.value.stop());
    libPods.delete(t.value.container.pod);
    if (!warm) stopSamples.push(stop.ms);
    return t.ms;
  });
  record('tcLibStart', 'testcontainers', "new GenericContainer('busybox') httpd .withExposedPorts(80) .withWaitStrategy(Wait.forHttp('/', 80)).start()", libSamples);
  record('tcLibStop', 'testcontainers', 'started.stop() (kills it, removes it and its pod)', stopSamples);
  record('tcLibFloor', 'testcontainers', "by hand: createPod({ports: ['127.0.0.1::80']}) + pod.run(httpd) + GET until 200", floorSamples);

  // CLI: what a CI script migrating from docker does.
  let cliTries = 0;
  const cliSamples = await measure('CLI run -d -p + curl loop', (i, warm) => {
    const name = `tcc-${i}`;
    const t0 = performance.now();
    nsbox(['run', '-d', '-p', '127.0.0.1::80', '--name', name, 'busybox', 'sh', '-c', HTTPD_SCRIPT]);
    const port = portFrom(nsbox(['port', name]).stdout, name);
    const tries = curlUntilOk(port, name);
    const ms = performance.now() - t0;
    if (!warm) cliTries += tries;
    nsbox(['rm', '-f', name]);
    return ms;
  });
  record('tcCliStart', 'testcontainers', 'nsbox run -d -p 127.0.0.1::80 busybox httpd; nsbox port; curl until 200', cliSamples);
  notes.push(`testcontainers-style start: the CLI's curl loop took ${(cliTries / opts.iterations).toFixed(1)} tries on average (no pause between tries); the library's forHttp polls every 1, 2, 4, … ms up to 100 ms.`);

  // podman, the same way, when it is here (its image imported from the same busybox tarball).
  const podman = which('podman');
  if (!podman) {
    skip('tcPodmanStart', 'testcontainers', 'podman run -d -p 127.0.0.1::80 busybox httpd; podman port; curl until 200', 'podman is not installed on this machine');
    const docker = which('docker');
    if (docker) notes.push(`docker: a client is installed (${docker}), but no daemon was measured (the issue compares podman; docker needs its daemon).`);
    return;
  }
  const image = 'localhost/nsbox-bench-busybox:latest';
  timed(podman, ['import', busyboxTar, image]);
  try {
    const podmanSamples = await measure('podman run -d -p + curl loop', (i) => {
      const name = `nsbox-bench-tc-${process.pid}-${i}`;
      const t0 = performance.now();
      timed(podman, ['run', '-d', '-p', '127.0.0.1::80', '--name', name, image, 'sh', '-c', HTTPD_SCRIPT]);
      const port = portFrom(timed(podman, ['port', name]).stdout, name);
      curlUntilOk(port, name);
      const ms = performance.now() - t0;
      timed(podman, ['rm', '-f', '-t', '0', name]);
      return ms;
    });
    record('tcPodmanStart', 'testcontainers', `podman run -d -p 127.0.0.1::80 busybox httpd; podman port; curl until 200 (${firstLine(podman, ['--version'])})`, podmanSamples);
  } finally {
    timed(podman, ['rmi', '-f', image], { allowFail: true });
  }
}

/** The full path of a program on PATH, or null. */
function which(program) {
  const r = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** tar as non-root cannot mknod: those errors (and only those) are expected. */
function tarFailureIsOnlyMknod(stderr) {
  const lines = stderr.split('\n').filter(Boolean);
  const mknod = lines.filter((l) => /Cannot mknod: Operation not permitted$/.test(l));
  const rest = lines.filter((l) => !mknod.includes(l) && !/Exiting with failure status due to previous errors/.test(l));
  return { ok: mknod.length > 0 && rest.length === 0, mknod: mknod.length };
}

async function benchImport(nginxTar) {
  const root = process.getuid() === 0;
  const tarArgs = (dir) => ['-xf', nginxTar, '-C', dir, ...(root ? ['--same-owner'] : [])];
  const nsboxSamples = [];
  const tarSamples = [];
  let summary = null;
  let mknodFailures = 0;
  const total = opts.importWarmups + opts.importIterations;
  for (let i = 0; i < total; i++) {
    const warm = i < opts.importWarmups;
    // Alternate which goes first, so neither always inherits the other's leftovers.
    const order = i % 2 ? ['tar', 'nsbox'] : ['nsbox', 'tar'];
    for (const which of order) {
      progress(`import ${which} ${i + 1}/${total}`);
      await step();
      const dir = join(stateRoot, `${which}-${i}`);
      mkdirSync(dir, { mode: 0o700 });
      extraRoots.add(dir);
      // Flush what earlier iterations wrote and deleted, so that writeback does
      // not land in this timing; the timing itself ends without a sync (neither
      // tar nor nsbox fsyncs), i.e. both are measured into the page cache.
      spawnSync('sync', [], { stdio: 'ignore' });
      if (which === 'nsbox') {
        const r = timed(process.execPath, [cliPath, '--root', dir, 'image', 'import', nginxTar, '--name', 'nginx']);
        if (!/^[0-9a-f]{64}$/.test(r.stdout.trim())) throw new Error(`nsbox image import printed ${JSON.stringify(r.stdout)}, expected an image id`);
        summary = r.stderr.split('\n').filter((l) => l.startsWith('imported ')).pop() ?? summary;
        // The layer was really extracted into this fresh store.
        const layers = readdirSync(join(dir, 'images', 'layers'));
        if (layers.length !== 1 || !existsSync(join(dir, 'images', 'layers', layers[0], 'diff', 'usr', 'sbin', 'nginx')))
          throw new Error(`nsbox image import left no extracted layer with usr/sbin/nginx in ${dir}`);
        if (!warm) nsboxSamples.push(r.ms);
      } else {
        const r = timed('tar', tarArgs(dir), { allowFail: true });
        if (r.status !== 0) {
          const f = tarFailureIsOnlyMknod(r.stderr);
          if (root || !f.ok) throw new Error(`tar ${tarArgs(dir).join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
          mknodFailures = f.mknod;
        }
        if (!existsSync(join(dir, 'usr', 'sbin', 'nginx'))) throw new Error(`tar -xf left no usr/sbin/nginx in ${dir}`);
        if (!warm) tarSamples.push(r.ms);
      }
      await removeTree(dir);
      extraRoots.delete(dir);
    }
  }
  record('importNsbox', 'import', 'nsbox image import nginx.tar (fresh store)', nsboxSamples);
  record('importTar', 'import', `tar -xf nginx.tar${root ? ' --same-owner' : ''} (fresh dir)`, tarSamples);
  const range = (r) => `${fmt(r.minMs)}–${fmt(r.maxMs)} ms`;
  notes.push(`import ranges (min–max): nsbox ${range(results.importNsbox)}, tar ${range(results.importTar)}; compare them within this run only (the ratio), not across runs.`);
  if (summary) notes.push(`nsbox's import summary: ${summary}`);
  notes.push(
    'import: a fresh --root (image store) and a fresh tar directory per iteration, both under the temp dir (same filesystem); ' +
      '`sync` (untimed) before each timing, none after: both are timed into the page cache (neither fsyncs), ' +
      'and the trees are removed (untimed) after each; nsbox and tar alternate which goes first; the tarball is in the page cache after the warm-up.',
  );
  if (!root)
    notes.push(
      `import: rootless, tar -xf cannot chown: every file is owned by ${os.userInfo().username}, and its ${mknodFailures} device nodes fail with EPERM (exit 2, accepted) — ` +
        'whereas nsbox extracts inside a user namespace and keeps owners through the subordinate id mapping (and skips device nodes). ' +
        'tar therefore does less work than nsbox here.',
    );
  else notes.push('import: as root, tar -xf --same-owner keeps owners and creates the device nodes; nsbox keeps owners (identity mapping) and skips device nodes.');
}

// ---------------------------------------------------------------- ratios and targets

function compare(what, ms, peerLabel, peerMs) {
  return ratioOf(what, ms, peerLabel, peerMs, (ratio) => `${what} ${fmt(ms)} ms / ${peerLabel} ${fmt(peerMs)} ms = ${ratio.toFixed(2)}×`);
}

function evaluate() {
  const node = med('nodeE0');
  const ratios = [
    compare('CLI run -d', med('cliRun'), 'node -e 0', node),
    compare('nsbox --version', med('cliVersion'), 'node -e 0', node),
    compare('CLI run -d', med('cliRun'), 'library pod.run', med('libRun')),
    compare('CLI pod create + first run -d', med('cliFirstBoth'), 'node -e 0', node),
    compare('nsbox image import', med('importNsbox'), 'tar -xf', med('importTar')),
    compare('CLI run -d, default seccomp (cached)', med('scCliCached'), 'seccomp=unconfined', med('scCliUnconfined')),
    compare('pod.run, default seccomp (cached)', med('scLibCached'), 'seccomp=unconfined', med('scLibUnconfined')),
    compare('pod.run, default seccomp (cold)', med('scLibCold'), 'seccomp=unconfined', med('scLibUnconfined')),
    compare('GenericContainer.start() (forHttp)', med('tcLibStart'), 'the same by hand', med('tcLibFloor')),
    compare('CLI run -d -p + curl loop', med('tcCliStart'), 'GenericContainer.start() (forHttp)', med('tcLibStart')),
    compare('podman run -d -p + curl loop', med('tcPodmanStart'), 'GenericContainer.start() (forHttp)', med('tcLibStart')),
  ];
  const scLib = med('scLibCached') != null && med('scLibUnconfined') != null ? med('scLibCached') - med('scLibUnconfined') : null;
  const scCli = med('scCliCached') != null && med('scCliUnconfined') != null ? med('scCliCached') - med('scCliUnconfined') : null;
  const cliRatio = med('cliRun') != null && node ? med('cliRun') / node : null;
  const importRatio = med('importNsbox') != null && med('importTar') ? med('importNsbox') / med('importTar') : null;
  const targets = [
    target(
      'nsbox run -d of busybox into an existing pod, CLI',
      `≤ ${TARGETS.cliRunOverNode} × node -e 0`,
      cliRatio,
      '×',
      cliRatio <= TARGETS.cliRunOverNode,
      `median ${fmt(med('cliRun'))} / ${fmt(node)} = ${cliRatio?.toFixed(2)}× node -e 0 (limit ${fmt(node * TARGETS.cliRunOverNode)} ms)`,
    ),
    target('the same, library API (pod.run)', `≤ ${TARGETS.libRunMs} ms`, med('libRun'), 'ms', med('libRun') <= TARGETS.libRunMs, `median ${fmt(med('libRun'))} ms`),
    target(
      'import of the nginx tarball',
      `≤ ${TARGETS.importOverTar} × tar -xf`,
      importRatio,
      '×',
      importRatio <= TARGETS.importOverTar,
      importRatio == null
        ? results.importNsbox?.skipped ?? 'not measured'
        : `median ${fmt(med('importNsbox'))} / ${fmt(med('importTar'))} = ${importRatio.toFixed(2)}× tar -xf (limit ${fmt(med('importTar') * TARGETS.importOverTar)} ms)`,
    ),
  ];
  targets.push(
    target('run under the default seccomp profile, program cached, library', `≤ unconfined + ${TARGETS.seccompCachedMs} ms`, scLib, 'ms', scLib != null && scLib <= TARGETS.seccompCachedMs, `median ${fmt(med('scLibCached'))} − ${fmt(med('scLibUnconfined'))} = ${fmt(scLib)} ms`),
    target('the same, CLI run -d', `≤ unconfined + ${TARGETS.seccompCachedMs} ms`, scCli, 'ms', scCli != null && scCli <= TARGETS.seccompCachedMs, `median ${fmt(med('scCliCached'))} − ${fmt(med('scCliUnconfined'))} = ${fmt(scCli)} ms (CLI figures move by several ms between runs)`),
    target(
      'testcontainers-style start of busybox httpd, library (start() to Wait.forHttp ready)',
      `≤ ${TARGETS.tcStartMs} ms`,
      med('tcLibStart'),
      'ms',
      med('tcLibStart') <= TARGETS.tcStartMs,
      `median ${fmt(med('tcLibStart'))} ms (CLI run -d -p + curl loop ${fmt(med('tcCliStart'))} ms; podman ${results.tcPodmanStart?.skipped ? `not measured: ${results.tcPodmanStart.skipped}` : `${fmt(med('tcPodmanStart'))} ms`})`,
    ),
  );
  return { ratios, targets, derived: { cliRunOverNode: round(cliRatio, 3), importOverTar: round(importRatio, 3), seccompCachedLibMs: round(scLib, 3), seccompCachedCliMs: round(scCli, 3) } };
}

// ---------------------------------------------------------------- output

function printTable(report) {
  const m = report.machine;
  const out = [];
  out.push('nsbox bench-containers');
  out.push(machineLine(m));
  out.push(`  kernel:   ${m.kernel}    node: ${m.node}    ${m.tar}`);
  out.push(`  running:  ${m.privilege} (uid ${m.uid}, ${m.user}); pods' id mapping: ${report.idMapping.cli ?? '-'} (CLI pod), ${report.idMapping.library ?? '-'} (library pod)`);
  out.push(`  mapping:  ${m.idMapping}`);
  out.push(`  rootfs:   containers on ${report.rootfsMode ?? '-'}; temp dir ${m.tempDir} (${m.tempFs}, removed at the end)`);
  if (report.tarballs.nginx) out.push(`  nginx:    ${report.tarballs.nginx.path} (${(report.tarballs.nginx.bytes / 1e6).toFixed(1)} MB${report.tarballs.nginx.cached ? ', cached' : `, built in ${report.tarballs.nginx.seconds.toFixed(1)} s`})`);
  out.push(
    `  runs:     ${report.iterations} measured iterations per run/start figure after ${report.warmups} warm-ups; ` +
      `${report.importIterations} imports after ${report.importWarmups} warm-up(s); times in ms, wall clock`,
  );
  out.push('');
  out.push(
    ...resultLines(report.results, {
      cli: 'CLI (fresh process each)',
      library: 'library API (this warm Node process)',
      first: 'first container in a fresh pod (context)',
      import: 'import of the nginx tarball (fresh process each)',
      seccomp: 'seccomp: default profile against unconfined (issue 17)',
      testcontainers: 'testcontainers-style start: busybox httpd until GET / answers 200 (issue 14)',
    }),
  );
  out.push('');
  out.push('Notes');
  out.push('  - node -e 0 and nsbox --version are timed in the same loop as run -d, right before each call (same conditions');
  out.push('    for the ratio); nsbox --version shows what loading the CLI alone costs.');
  out.push('  - run -d is timed as the command alone: it prints POD/NAME once the process runs. Each container is then checked');
  out.push('    (untimed) to be running sleep (ps / record, and /proc), and removed with rm -f / c.remove (timed separately).');
  out.push('  - "first container" figures: a new pod each iteration, then its first container; the pod is removed after.');
  out.push(...closingLines(report, 'Targets (medians; issues 3 and 14)'));
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const lib = await loadNsbox();
  ({ removeTreeAsOwner } = await import(pathToFileURL(removeTreePath).href));
  const { buildRootfsDetails } = await import(pathToFileURL(rootfsBuildPath).href);
  const machine = await machineInfo();

  // Images: busybox into the shared root (by the CLI, as users do); nginx is imported per iteration below.
  progress('busybox rootfs');
  const busybox = await buildRootfsDetails('busybox', { log: false, signal: abort.signal });
  info.tarballs.busybox = { path: busybox.path, bytes: busybox.bytes, cached: busybox.cached };
  nsbox(['image', 'import', busybox.path, '--name', 'busybox']);

  await benchCliRun();
  await benchLibRun(lib);
  await benchFirstStart(lib);
  await benchSeccomp(lib);
  await benchTestcontainers(lib, busybox.path);

  if (opts.importIterations === 0) {
    skip('importNsbox', 'import', 'nsbox image import nginx.tar (fresh store)', '--import-iterations 0');
    skip('importTar', 'import', 'tar -xf nginx.tar (fresh dir)', '--import-iterations 0');
  } else {
    let nginx = null;
    try {
      progress('nginx rootfs');
      nginx = await buildRootfsDetails('nginx', { log: (line) => say(`rootfs: ${line}`), signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) throw err;
      const reason = `no nginx tarball: ${err.message}`;
      skip('importNsbox', 'import', 'nsbox image import nginx.tar (fresh store)', reason);
      skip('importTar', 'import', 'tar -xf nginx.tar (fresh dir)', reason);
    }
    if (nginx) {
      info.tarballs.nginx = { path: nginx.path, bytes: nginx.bytes ?? statSync(nginx.path).size, cached: nginx.cached, seconds: nginx.seconds };
      if (info.tarballs.nginx.bytes < 150e6)
        notes.push(`the nginx tarball is ${(info.tarballs.nginx.bytes / 1e6).toFixed(0)} MB, not the ~180 MB the issue assumes (the rootfs/nginx recipe makes it so)`);
      await benchImport(nginx.path);
    }
  }
  progressDone();

  roundSummaries(results);
  const { ratios, targets, derived } = evaluate();
  const report = {
    machine,
    iterations: opts.iterations,
    warmups: opts.warmups,
    importIterations: opts.importIterations,
    importWarmups: opts.importWarmups,
    stateRoot,
    idMapping: info.idMapping,
    rootfsMode: info.rootfsMode,
    tarballs: info.tarballs,
    results,
    derived,
    ratios,
    targets,
    notes,
    warnings: [...warnings],
  };
  await cleanup();
  writeReport(report, opts.format, printTable);
}

await runMain('bench-containers', main, cleanup, () => interrupted !== null);
