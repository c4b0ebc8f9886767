#!/usr/bin/env node
// Measures nsbox against its peers in one run on this machine: the library
// API in this (warm) Node process, the CLI as fresh processes, and the
// util-linux floor (unshare, nsenter) plus podman when it is installed.
// Prints medians and p90s, the ratios against the peers and PASS/MISS
// against the performance targets.
//
//   node scripts/bench-pods.mjs [--iterations N] [--warmups N] [--format table|json]
//
// Everything happens under a private temporary state root (mode 0700) that is
// removed at the end, also on errors and on SIGINT/SIGTERM; the processes this
// script starts are ended by pid.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cliPath,
  closingLines,
  createResults,
  fmt,
  killPid,
  loadNsbox,
  machineInfo,
  machineLine,
  makeStateRoot,
  measure as measureRuns,
  parseBenchArgs,
  progress,
  progressDone,
  ratioOf,
  removeCliPods,
  removeLibPods,
  resultLines,
  round,
  roundSummaries,
  runMain,
  SIGNALS,
  target,
  timed,
  timedAsync,
  writeReport,
} from './lib/bench.mjs';

// Peer baselines recorded on this machine kind (podman 4.3, rootless, medians), used when podman is not installed.
const PODMAN_REFERENCE = { podCreateMs: 91, execMs: 190, podRmMs: 349 };

const TARGETS = {
  // Issue 12's: the library with the full subuid mapping; every CLI verb within 10 ms of node -e 0.
  libCreateMs: 5,
  libExecMs: 1.2,
  libRmMs: 3,
  cliOverNodeMs: 10,
  pauseRssKiB: 1024,
  perPodPssKiB: 2048,
};

// ---------------------------------------------------------------- arguments

const usageText = `usage: bench-pods [--iterations N] [--warmups N] [--pods N] [--format table|json]

Measures, in one run, N iterations each (after the warm-ups; median and p90 in ms):
  library API: createPod, pod.exec(['/bin/true']), pod.remove({force:true})
  CLI:         node -e 0, nsbox pod create, nsbox exec … /bin/true, nsbox pod rm -f
  peers:       unshare -Urnpi --fork true, nsenter into a held namespace set, podman (if installed)

  many pods:   N detached pods (CLI), each publishing a port served by a busybox httpd;
               every port must answer; memory of each pod's keeper + pause + forwarder
               (PSS and RSS, from /proc/PID/smaps_rollup)

  --iterations N   measured iterations per figure (default 20)
  --pods N         pods for the many-pods figure (default 200; 0 skips it)
  --warmups N      warm-up iterations per figure, not counted (default 2)
  --format F       table (default) or json
`;
const opts = parseBenchArgs(process.argv.slice(2), { name: 'bench-pods', usageText, extra: { pods: { flag: 'pods', min: 0, default: 200 } } });

// ---------------------------------------------------------------- process helpers

function which(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  return null;
}

/** Warm-ups then N measured runs of fn(i, warm) → ms. */
const measure = (label, fn) => measureRuns(label, fn, opts);

function readRssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Pss and Rss of a process in KiB (smaps_rollup), or null when it is gone. */
function readMemoryKiB(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { pss: field('Pss'), rss: field('Rss') };
  } catch {
    return null;
  }
}

function childrenOf(pid) {
  const out = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- state and cleanup

const stateRoot = makeStateRoot('nsbox-bench-');
const libPods = new Set(); // Pod handles created by this process
const holderPids = new Set(); // unshare holders and their inner processes
const podmanPods = new Set();
let podmanPath = null;
let cleanedUp = false;

function nsbox(args, o) {
  return timed(process.execPath, [cliPath, '--root', stateRoot, ...args], o);
}

async function cleanup() {
  if (cleanedUp) return;
  const problems = [];
  await removeLibPods(libPods, problems);
  cleanupSync(problems);
}

/**
 * The part of the cleanup that needs no event loop, so the 'exit' handler can
 * run it too. Library pods left over then die with this process (nsbox kills
 * their pause on exit, and they have PDEATHSIG).
 */
function cleanupSync(problems = []) {
  if (cleanedUp) return;
  cleanedUp = true;
  // Whatever the CLI left behind in our root: detached pods and their supervisors.
  removeCliPods(stateRoot, problems);
  for (const pid of holderPids) killPid(pid);
  holderPids.clear();
  for (const name of podmanPods) spawnSync(podmanPath, ['pod', 'rm', '-f', name], { stdio: 'ignore' });
  podmanPods.clear();
  // Its layers belong to the pod's ids when rootless: nsbox removes them inside a user namespace.
  if (httpdImported) spawnSync(process.execPath, [cliPath, '--root', stateRoot, 'image', 'rm', '-f', 'bench-httpd'], { stdio: 'ignore' });
  try {
    rmSync(stateRoot, { recursive: true, force: true });
  } catch (err) {
    problems.push(`removing ${stateRoot}: ${err.message}`);
  }
  for (const p of problems) process.stderr.write(`bench-pods: cleanup: ${p}\n`);
}

// A last resort when the process ends without reaching cleanup().
process.on('exit', () => cleanupSync());

for (const sig of SIGNALS) {
  process.once(sig, () => {
    progressDone();
    process.stderr.write(`bench-pods: ${sig}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- the benchmark

const { results, record, skip, med } = createResults(); // key → { group, label, samples, ...summary } or { skipped }
const notes = [];
const warnings = new Set();

async function benchLibrary(lib) {
  const onWarning = (m) => warnings.add(m);
  let seq = 0;
  const createSamples = [];
  const rmSamples = [];
  // create and rm pair up: every created pod is the next rm's subject.
  const total = opts.warmups + opts.iterations;
  for (let i = 0; i < total; i++) {
    progress(`library create/rm ${i + 1}/${total}`);
    const warm = i < opts.warmups;
    const name = `lib-${seq++}`;
    const c = await timedAsync(() => lib.createPod({ root: stateRoot, name, onWarning }));
    libPods.add(c.value);
    const r = await timedAsync(() => c.value.remove({ force: true }));
    libPods.delete(c.value);
    if (!warm) {
      createSamples.push(c.ms);
      rmSamples.push(r.ms);
    }
  }
  record('libCreate', 'library', 'pod create (createPod, in-process)', createSamples);

  const pod = await lib.createPod({ root: stateRoot, name: `lib-exec-${seq++}`, onWarning });
  libPods.add(pod);
  const mapping = pod.record.mapping;
  const pausePid = pod.record.pause.pid;
  const execSamples = await measure('library exec', async () => {
    const r = await timedAsync(() => pod.exec(['/bin/true']));
    if (r.value.exitCode !== 0) throw new Error(`pod.exec(['/bin/true']) exited ${r.value.exitCode} (signal ${r.value.signal}): ${r.value.stderr}`);
    return r.ms;
  });
  record('libExec', 'library', 'exec /bin/true (pod.exec)', execSamples);
  record('libRm', 'library', 'pod rm (pod.remove({force:true}))', rmSamples);
  const rss = readRssKiB(pausePid);
  await pod.remove({ force: true });
  libPods.delete(pod);
  return { mapping, pauseRssKiB: rss, pausePid };
}

/** node -e 0 samples: a block first, then one beside each round of CLI verbs, so the floor drifts with the machine as they do. */
const nodeSamples = [];
const NODE_LABEL = 'node -e 0 (floor of any Node CLI call; also timed between the rounds of verbs)';
const nodeFloorSample = () => nodeSamples.push(timed(process.execPath, ['-e', '0']).ms);

async function benchCli() {
  nodeSamples.push(...(await measure('node -e 0', () => timed(process.execPath, ['-e', '0']).ms)));
  record('nodeE0', 'cli', NODE_LABEL, nodeSamples);

  const createSamples = [];
  const firstExecSamples = [];
  const createPlusExecSamples = [];
  const rmSamples = [];
  const total = opts.warmups + opts.iterations;
  for (let i = 0; i < total; i++) {
    progress(`CLI create/exec/rm ${i + 1}/${total}`);
    const warm = i < opts.warmups;
    const name = `cli-${i}`;
    const c = nsbox(['pod', 'create', '--name', name]);
    const e = nsbox(['exec', name, '--', '/bin/true']);
    const r = nsbox(['pod', 'rm', '-f', name]);
    if (!warm) nodeFloorSample();
    if (!warm) {
      createSamples.push(c.ms);
      firstExecSamples.push(e.ms);
      createPlusExecSamples.push(c.ms + e.ms);
      rmSamples.push(r.ms);
    }
  }

  nsbox(['pod', 'create', '--name', 'cli-exec']);
  const inspect = JSON.parse(nsbox(['pod', 'inspect', 'cli-exec']).stdout);
  const execSamples = await measure('CLI exec', () => nsbox(['exec', 'cli-exec', '--', '/bin/true']).ms);
  const rss = readRssKiB(inspect.record.pause.pid);
  nsbox(['pod', 'rm', '-f', 'cli-exec']);

  record('cliCreate', 'cli', 'nsbox pod create (returns once the pod accepts an exec)', createSamples);
  record('cliFirstExec', 'cli', 'first nsbox exec … /bin/true after create', firstExecSamples);
  record('cliCreatePlusExec', 'cli', 'nsbox pod create + first nsbox exec', createPlusExecSamples);
  record('cliExec', 'cli', 'nsbox exec … /bin/true (warm pod)', execSamples);
  record('cliRm', 'cli', 'nsbox pod rm -f', rmSamples);
  benchContainerVerbs();
  return { mapping: inspect.record.mapping, pauseRssKiB: rss, pausePid: inspect.record.pause.pid };
}

/** run -d, ps, logs and stop of containers in one pod, each a fresh CLI process. */
function benchContainerVerbs() {
  importHttpdImage();
  nsbox(['pod', 'create', '--name', 'cli-verbs']);
  const run = [];
  const ps = [];
  const logs = [];
  const stop = [];
  const total = opts.warmups + opts.iterations;
  for (let i = 0; i < total; i++) {
    progress(`CLI run -d/ps/logs/stop ${i + 1}/${total}`);
    const ref = `cli-verbs/c${i}`;
    const samples = [
      nsbox(['run', '-d', '--pod', 'cli-verbs', '--name', `c${i}`, 'bench-httpd', 'sh', '-c', 'echo hello; exec httpd -f -p 80 -h /www']).ms,
      nsbox(['ps', '-a']).ms,
      nsbox(['logs', ref]).ms,
      nsbox(['stop', '-t', '0', ref]).ms,
    ];
    if (i >= opts.warmups) [run, ps, logs, stop].forEach((list, k) => list.push(samples[k]));
    if (i >= opts.warmups) nodeFloorSample();
  }
  nsbox(['pod', 'rm', '-f', 'cli-verbs']);
  record('nodeE0', 'cli', NODE_LABEL, nodeSamples); // keeps its place in the table
  record('cliRunD', 'cli', 'nsbox run -d … (busybox sh)', run);
  record('cliPs', 'cli', `nsbox ps -a (1 pod, up to ${total} containers)`, ps);
  record('cliLogs', 'cli', 'nsbox logs POD/NAME', logs);
  record('cliStop', 'cli', 'nsbox stop -t 0 POD/NAME', stop);
}

async function startHolder(unshare) {
  // --kill-child: the inner sleep dies with unshare, so killing unshare by pid
  // never leaves a namespace set behind (util-linux ≥ 2.32; probe it).
  const killChild = timed(unshare, ['--kill-child', '-Urnpi', '--fork', 'true'], { allowFail: true }).status === 0;
  const child = spawn(unshare, [...(killChild ? ['--kill-child'] : []), '-Urnpi', '--fork', 'sleep', '1000'], { stdio: 'ignore' });
  const spawned = await new Promise((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned) throw new Error('could not start the unshare holder');
  holderPids.add(child.pid);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    holderPids.delete(child.pid);
  });
  const deadline = Date.now() + 5000;
  for (;;) {
    const kids = childrenOf(child.pid);
    if (kids.length) {
      // the inner sleep is PID 1 of its pid namespace: only SIGKILL reaches it from outside
      for (const k of kids) holderPids.add(k);
      // it may still be the forked unshare before exec: wait for sleep
      let comm = '';
      try {
        comm = readFileSync(`/proc/${kids[0]}/comm`, 'utf8').trim();
      } catch {
        // not yet
      }
      if (comm === 'sleep') return { unsharePid: child.pid, innerPid: kids[0], child };
    }
    if (exited) throw new Error('the unshare holder exited early');
    if (Date.now() > deadline) throw new Error('the unshare holder did not start its sleep within 5 s');
    await sleep(5);
  }
}

async function stopHolder(h) {
  const done = new Promise((r) => (h.child.exitCode !== null || h.child.signalCode !== null ? r() : h.child.once('exit', r)));
  // Kill the inner sleep only: unshare --fork reaps it and exits, so nothing is
  // left for init to reap. unshare itself is killed only if it lingers.
  killPid(h.innerPid);
  const timer = setTimeout(() => killPid(h.unsharePid), 2000);
  await done;
  clearTimeout(timer);
  holderPids.delete(h.innerPid);
  holderPids.delete(h.unsharePid);
}

async function benchPeers() {
  const unshare = which('unshare');
  const nsenter = which('nsenter');
  if (!unshare) {
    skip('unshare', 'peer', 'unshare -Urnpi --fork true', 'unshare (util-linux) not found');
    skip('nsenter', 'peer', 'nsenter -U -n -p -i true', 'unshare (util-linux) not found');
  } else {
    const probe = timed(unshare, ['-Urnpi', '--fork', 'true'], { allowFail: true });
    if (probe.status !== 0) {
      skip('unshare', 'peer', 'unshare -Urnpi --fork true', `fails here: ${probe.stderr.trim()}`);
    } else {
      const s = await measure('unshare', () => timed(unshare, ['-Urnpi', '--fork', 'true']).ms);
      record('unshare', 'peer', 'unshare -Urnpi --fork true', s);
    }
    if (!nsenter) {
      skip('nsenter', 'peer', 'nsenter -U -n -p -i true', 'nsenter (util-linux) not found');
    } else if (probe.status === 0) {
      const h = await startHolder(unshare);
      try {
        const variants = [
          ['-t', String(h.innerPid), '-U', '-n', '-p', '-i', '--preserve-credentials', 'true'],
          ['-t', String(h.innerPid), '-U', '-n', '-p', '-i', 'true'],
        ];
        let chosen = null;
        const errors = [];
        for (const v of variants) {
          const r = timed(nsenter, v, { allowFail: true });
          if (r.status === 0) {
            chosen = v;
            break;
          }
          errors.push(r.stderr.trim());
        }
        const label = chosen ? `nsenter ${chosen.join(' ').replace(String(h.innerPid), 'PID')}` : 'nsenter -t PID -U -n -p -i true';
        if (!chosen) skip('nsenter', 'peer', label, `fails here: ${errors.join('; ')}`);
        else record('nsenter', 'peer', label, await measure('nsenter', () => timed(nsenter, chosen).ms));
      } finally {
        await stopHolder(h);
      }
    } else {
      skip('nsenter', 'peer', 'nsenter -U -n -p -i true', 'unshare -Urnpi fails here, so there is no namespace set to hold');
    }
  }

  podmanPath = which('podman');
  if (!podmanPath) {
    for (const [k, l] of [
      ['podmanCreate', 'podman pod create'],
      ['podmanExec', 'podman exec … /bin/true'],
      ['podmanRm', 'podman pod rm -f'],
    ])
      skip(k, 'peer', l, 'not installed');
    notes.push('podman: not installed, skipped');
    return;
  }
  // podman pod create / rm -f; exec needs a container, so only when an image is already local.
  const image = process.env.NSBOX_BENCH_PODMAN_IMAGE ?? 'docker.io/library/busybox';
  const createSamples = [];
  const rmSamples = [];
  const total = opts.warmups + opts.iterations;
  const prefix = `nsbox-bench-${process.pid}`;
  for (let i = 0; i < total; i++) {
    progress(`podman pod create/rm ${i + 1}/${total}`);
    const name = `${prefix}-${i}`;
    podmanPods.add(name);
    const c = timed(podmanPath, ['pod', 'create', '--name', name]);
    const r = timed(podmanPath, ['pod', 'rm', '-f', name]);
    podmanPods.delete(name);
    if (i >= opts.warmups) {
      createSamples.push(c.ms);
      rmSamples.push(r.ms);
    }
  }
  record('podmanCreate', 'peer', 'podman pod create', createSamples);
  record('podmanRm', 'peer', 'podman pod rm -f', rmSamples);
  if (timed(podmanPath, ['image', 'exists', image], { allowFail: true }).status !== 0) {
    skip('podmanExec', 'peer', 'podman exec … /bin/true', `image ${image} not present locally (set NSBOX_BENCH_PODMAN_IMAGE)`);
    return;
  }
  const pod = `${prefix}-exec`;
  podmanPods.add(pod);
  try {
    timed(podmanPath, ['pod', 'create', '--name', pod]);
    timed(podmanPath, ['run', '-d', '--pod', pod, '--name', `${pod}-c`, image, 'sleep', '1000']);
    record('podmanExec', 'peer', 'podman exec … /bin/true', await measure('podman exec', () => timed(podmanPath, ['exec', `${pod}-c`, '/bin/true']).ms));
  } finally {
    spawnSync(podmanPath, ['pod', 'rm', '-f', pod], { stdio: 'ignore' });
    podmanPods.delete(pod);
  }
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; closed again at once). */
async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function httpGet(port) {
  const { request } = await import('node:http');
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** A busybox image with an index page, made from the host's static busybox (Debian busybox-static). */
let httpdImported = false;
function importHttpdImage() {
  if (httpdImported) return;
  httpdImported = true;
  const dir = join(stateRoot, 'httpd-rootfs');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'www'), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const applet of ['sh', 'httpd']) symlinkSync('busybox', join(dir, 'bin', applet));
  writeFileSync(join(dir, 'www', 'index.html'), 'answered\n');
  const tarball = join(stateRoot, 'httpd.tar');
  timed('tar', ['-C', dir, '-cf', tarball, '.']);
  nsbox(['image', 'import', '--name', 'bench-httpd', tarball]);
}

/**
 * N detached pods, each with a published port served by a busybox httpd:
 * how long each takes to make, whether every port answers, and what each pod
 * costs in memory (its keeper, pause and forwarder; the httpd is the user's).
 */
async function benchManyPods(n) {
  if (n === 0) {
    notes.push('many pods: skipped (--pods 0)');
    return null;
  }
  if (!which('busybox')) throw new Error('many pods: needs /bin/busybox (Debian busybox-static)');
  importHttpdImage();
  const pods = [];
  const createSamples = [];
  const runSamples = [];
  for (let i = 0; i < n; i++) {
    progress(`many pods: create and run ${i + 1}/${n}`);
    const port = await freePort();
    const name = `many-${i}`;
    createSamples.push(nsbox(['pod', 'create', '--name', name, '-p', `127.0.0.1:${port}:80`]).ms);
    runSamples.push(nsbox(['run', '-d', '--pod', name, '--name', 'web', 'bench-httpd', 'httpd', '-f', '-p', '80', '-h', '/www']).ms);
    pods.push({ name, port });
  }
  record('manyCreate', 'many', `nsbox pod create -p … (with ${n} pods running)`, createSamples);
  record('manyRun', 'many', 'nsbox run -d … httpd (into each)', runSamples);
  let answering = 0;
  const failures = [];
  for (const p of pods) {
    // httpd may still be starting: a few tries, then it counts as not answering.
    let r;
    for (let tries = 0; tries < 50; tries++) {
      r = await httpGet(p.port);
      if (r.status === 200) break;
      await sleep(20);
    }
    if (r.status === 200 && r.body === 'answered\n') answering++;
    else failures.push(`${p.name} (port ${p.port}): ${r.status} ${r.body.slice(0, 80)}`);
  }
  const perPod = [];
  for (const p of pods) {
    const info = JSON.parse(nsbox(['pod', 'inspect', p.name]).stdout);
    const keeper = info.supervisorPid;
    const forwarder = childrenOf(keeper).find((c) => {
      try {
        return readFileSync(`/proc/${c}/comm`, 'utf8').trim() === 'nsbox-forward';
      } catch {
        return false;
      }
    });
    const parts = [keeper, info.pausePid, forwarder].map((pid) => (pid ? readMemoryKiB(pid) : null));
    if (parts.some((x) => !x)) {
      failures.push(`${p.name}: keeper, pause or forwarder not found`);
      continue;
    }
    perPod.push({ pss: parts.reduce((a, x) => a + x.pss, 0), rss: parts.reduce((a, x) => a + x.rss, 0), keeperPss: parts[0].pss, keeperRss: parts[0].rss });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? null;
  const removeSamples = [];
  for (const p of pods) {
    progress(`many pods: rm ${p.name}`);
    removeSamples.push(nsbox(['pod', 'rm', '-f', p.name]).ms);
  }
  record('manyRm', 'many', `nsbox pod rm -f (from ${n} pods down)`, removeSamples);
  if (failures.length) notes.push(`many pods: ${failures.length} problems, first: ${failures.slice(0, 3).join('; ')}`);
  return {
    pods: n,
    answering,
    perPodPssKiB: median(perPod.map((x) => x.pss)),
    perPodPssMaxKiB: perPod.length ? Math.max(...perPod.map((x) => x.pss)) : null,
    perPodRssKiB: median(perPod.map((x) => x.rss)),
    keeperPssKiB: median(perPod.map((x) => x.keeperPss)),
    keeperRssKiB: median(perPod.map((x) => x.keeperRss)),
    totalPssKiB: perPod.reduce((a, x) => a + x.pss, 0),
  };
}

// ---------------------------------------------------------------- ratios and targets

function compare(what, ms, peerLabel, peerMs) {
  return ratioOf(what, ms, peerLabel, peerMs, (ratio) => {
    const factor = ratio <= 1 ? 1 / ratio : ratio;
    const how = `${factor < 10 ? factor.toFixed(2) : factor.toFixed(1)}× ${ratio <= 1 ? 'faster' : 'slower'}`;
    return `${what} ${fmt(ms)} ms vs ${peerLabel} ${fmt(peerMs)} ms: ratio ${ratio.toFixed(2)} (${how})`;
  });
}

function evaluate(lib, cli, many) {
  const ratios = [];
  const podmanCreate = med('podmanCreate');
  const podmanExec = med('podmanExec');
  if (podmanCreate == null) {
    notes.push(`podman not installed; using the recorded ${PODMAN_REFERENCE.podCreateMs} ms for reference`);
    ratios.push(compare('library pod create', med('libCreate'), 'podman pod create (recorded reference)', PODMAN_REFERENCE.podCreateMs));
  } else {
    ratios.push(compare('library pod create', med('libCreate'), 'podman pod create (measured)', podmanCreate));
  }
  ratios.push(compare('library pod create', med('libCreate'), 'unshare -Urnpi --fork true', med('unshare')));
  ratios.push(compare('library exec', med('libExec'), results.nsenter?.label ?? 'nsenter', med('nsenter')));
  if (podmanExec == null) ratios.push(compare('library exec', med('libExec'), 'podman exec (recorded reference)', PODMAN_REFERENCE.execMs));
  else ratios.push(compare('library exec', med('libExec'), 'podman exec (measured)', podmanExec));
  ratios.push(compare('CLI pod create', med('cliCreate'), 'node -e 0', med('nodeE0')));
  ratios.push(compare('CLI exec', med('cliExec'), 'node -e 0', med('nodeE0')));

  const node = med('nodeE0');
  const cliExecOver = med('cliExec') != null && node != null ? med('cliExec') - node : null;
  const cliCreateRatio = med('cliCreate') != null && node ? med('cliCreate') / node : null;
  const rss = [lib?.pauseRssKiB, cli?.pauseRssKiB].filter((x) => x != null);
  const rssMax = rss.length ? Math.max(...rss) : null;
  const libTarget = (key, what, goal) => target(what, `≤ ${goal} ms`, med(key), 'ms', med(key) <= goal, `median ${fmt(med(key))} ms`);
  const cliTarget = (key, what) => {
    const over = med(key) != null && node != null ? med(key) - node : null;
    return target(what, `within ${TARGETS.cliOverNodeMs} ms of node -e 0`, over, 'ms', over <= TARGETS.cliOverNodeMs, `median ${fmt(med(key))} − ${fmt(node)} = ${fmt(over)} ms over node -e 0`);
  };
  const targets = [
    libTarget('libCreate', 'pod create, library API', TARGETS.libCreateMs),
    libTarget('libExec', 'exec-join of /bin/true, library API', TARGETS.libExecMs),
    libTarget('libRm', 'pod remove, library API', TARGETS.libRmMs),
    cliTarget('cliCreate', 'nsbox pod create (until the pod accepts an exec)'),
    cliTarget('cliFirstExec', 'first nsbox exec after a create'),
    cliTarget('cliExec', 'nsbox exec … /bin/true (warm pod)'),
    cliTarget('cliRunD', 'nsbox run -d'),
    cliTarget('cliPs', 'nsbox ps -a'),
    cliTarget('cliLogs', 'nsbox logs'),
    cliTarget('cliStop', 'nsbox stop -t 0'),
    cliTarget('cliRm', 'nsbox pod rm -f'),
    target(
      'pause RSS',
      '≤ 1 MiB',
      rssMax,
      'KiB',
      rssMax <= TARGETS.pauseRssKiB,
      `VmRSS ${lib?.pauseRssKiB ?? '-'} KiB (library pod), ${cli?.pauseRssKiB ?? '-'} KiB (CLI pod)`,
    ),
  ];
  if (many) {
    targets.push(
      target(`${many.pods} pods with a published port each, all answering`, `${many.pods} of ${many.pods}`, many.answering, 'pods', many.answering === many.pods, `${many.answering} of ${many.pods} answered HTTP 200 through their forwarder`),
      target(
        'memory per pod (keeper + pause + forwarder, PSS)',
        '≤ 2 MiB',
        many.perPodPssKiB,
        'KiB',
        many.perPodPssKiB <= TARGETS.perPodPssKiB,
        `median ${many.perPodPssKiB} KiB PSS (max ${many.perPodPssMaxKiB}), ${many.perPodRssKiB} KiB RSS; keeper alone ${many.keeperPssKiB} KiB PSS, ${many.keeperRssKiB} KiB RSS; ${many.pods} pods ${(many.totalPssKiB / 1024).toFixed(1)} MiB PSS in all`,
      ),
    );
  }
  return { ratios, targets, cliExecOverNodeMs: cliExecOver, cliCreateOverNode: cliCreateRatio };
}

// ---------------------------------------------------------------- output

function printTable(report) {
  const m = report.machine;
  const out = [];
  out.push('nsbox bench-pods');
  out.push(machineLine(m));
  out.push(`  kernel:   ${m.kernel}    node: ${m.node}`);
  out.push(`  running:  ${m.privilege} (uid ${m.uid}, ${m.user}); id mapping: ${report.idMapping.library ?? '-'} (library pod), ${report.idMapping.cli ?? '-'} (CLI pod)`);
  out.push(`  runs:     ${report.iterations} measured iterations per figure after ${report.warmups} warm-ups; times in ms, wall clock`);
  out.push(`  state:    private root ${report.stateRoot} (removed at the end)`);
  out.push('');
  out.push(...resultLines(report.results, { library: 'library API (this warm Node process)', cli: 'CLI (fresh process each)', many: 'many pods (CLI, detached)', peer: 'peers' }));
  out.push(`  pause RSS (VmRSS): ${report.pauseRssKiB.library ?? '-'} KiB (library pod), ${report.pauseRssKiB.cli ?? '-'} KiB (CLI pod)`);
  out.push('');
  out.push('Notes');
  out.push('  - CLI "pod create" is timed as the create command alone: it returns only once the pod is ready to accept an exec.');
  out.push('    "create + first exec" adds the first `nsbox exec X -- /bin/true` after it.');
  out.push(...closingLines(report, 'Targets (medians)'));
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- main

async function main() {
  const lib = await loadNsbox();
  const machine = machineInfo();
  const libInfo = await benchLibrary(lib);
  const cliInfo = await benchCli();
  const many = await benchManyPods(opts.pods);
  await benchPeers();
  progressDone();
  roundSummaries(results);
  const { ratios, targets, cliExecOverNodeMs, cliCreateOverNode } = evaluate(libInfo, cliInfo, many);
  const report = {
    machine,
    iterations: opts.iterations,
    warmups: opts.warmups,
    stateRoot,
    idMapping: { library: libInfo.mapping, cli: cliInfo.mapping },
    pauseRssKiB: { library: libInfo.pauseRssKiB, cli: cliInfo.pauseRssKiB },
    manyPods: many,
    results,
    derived: { cliExecOverNodeMs: round(cliExecOverNodeMs, 3), cliCreateOverNode: round(cliCreateOverNode, 3) },
    ratios,
    targets,
    podmanReference: PODMAN_REFERENCE,
    notes,
    warnings: [...warnings],
  };
  await cleanup();
  writeReport(report, opts.format, printTable);
}

await runMain('bench-pods', main, cleanup);
