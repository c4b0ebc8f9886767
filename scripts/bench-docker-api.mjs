#!/usr/bin/env node
// Measures the Docker-compatible API (issue 15) in one run on this machine:
// the docker CLI (Debian's docker.io client) against `nsbox system service`,
// beside the same work through nsbox's own CLI, and against podman's
// `podman system service` with the same client and image when podman is
// installed. Prints medians and p90s, ratios and PASS/MISS/N/A per target.
//
//   node scripts/bench-docker-api.mjs [--iterations N] [--warmups N] [--format table|json]
//
// Everything happens under a private temporary directory (mode 0700) that is
// removed at the end, also on errors and on SIGINT/SIGTERM. The services this
// script starts are ended by pid.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  cleanupOnSignals,
  cliPath,
  closingLines,
  createResults,
  fmt,
  killPid,
  machineInfo,
  machineLine,
  makeStateRoot,
  measure,
  parseBenchArgs,
  progressDone,
  ratioOf,
  removeCliPods,
  removeStateRoot,
  repo,
  resultLines,
  roundSummaries,
  runMain,
  target,
  timed,
  timedAsync,
  writeReport,
} from './lib/bench.mjs';
import { ensureDockerClient } from './lib/docker-client.mjs';

// issue 15, "Benchmark": nsbox's figure as a fraction of podman's.
const TARGETS = { runRm: 0.3, exec: 0.2, testcontainers: 0.2 };

const usageText = `usage: bench-docker-api [--iterations N] [--warmups N] [--format table|json]

Measures, in one run (median and p90 in ms, wall clock), with the docker CLI
from Debian's docker.io package pointed at each service by DOCKER_HOST:
  docker version                      the client's start and one round trip (the floor)
  docker run --rm busybox true        create, attach, start, wait, remove
  docker exec C true                  in a running container
  GenericContainer(httpd).start()     testcontainers (npm), busybox httpd with Wait.forHttp,
                                      from start() to ready (when testcontainers is installed)
each against nsbox system service, and against podman system service when podman
is installed; beside them nsbox's own CLI doing the same (run --rm, exec).

  --iterations N   measured iterations per figure (default 20)
  --warmups N      warm-up iterations, not counted (default 2)
  --format F       table (default) or json
`;
const opts = parseBenchArgs(process.argv.slice(2), { name: 'bench-docker-api', usageText });

const stateRoot = makeStateRoot('nsbox-bench-docker-api-');
const nsboxRoot = join(stateRoot, 'nsbox');
mkdirSync(nsboxRoot, { mode: 0o700 });
const services = []; // child processes to end by pid
let interrupted = false;
const { results, record, skip, med } = createResults();
const notes = [];

function say(message) {
  progressDone();
  process.stderr.write(`bench-docker-api: ${message}\n`);
}

const firstLine = (cmd, args) => (spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '').split('\n')[0].trim();

const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

async function waitForSocket(path, proc, what) {
  const deadline = Date.now() + 20_000;
  while (!existsSync(path)) {
    if (proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode} before listening`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${path} within 20 s`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

async function startService(label, cmd, args, socket) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  services.push(proc);
  await waitForSocket(socket, proc, label);
  return proc;
}

/** The docker CLI against one service: returns a runner of timed calls. */
function dockerAt(client, socket) {
  const configDir = join(stateRoot, `docker-config-${services.length}`);
  mkdirSync(configDir, { recursive: true });
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: configDir };
  return (args) => timed(client, args, { env });
}

const nsbox = (args) => timed(process.execPath, [cliPath, '--root', nsboxRoot, ...args]);

async function benchPeer(key, label, docker) {
  const m = (what, fn) => measure(`${label}: ${what}`, fn, { iterations: opts.iterations, warmups: opts.warmups });
  record(`${key}Version`, key, 'docker version', await m('docker version', () => docker(['version']).ms));
  record(`${key}RunRm`, key, 'docker run --rm busybox true', await m('run --rm', () => docker(['run', '--rm', 'busybox', 'true']).ms));
  docker(['run', '-d', '--name', 'bench-exec', 'busybox', 'sleep', '1000']);
  record(`${key}Exec`, key, 'docker exec C true', await m('exec', () => docker(['exec', 'bench-exec', 'true']).ms));
  docker(['rm', '-f', 'bench-exec']);
}

/** testcontainers' GenericContainer start-to-ready against a service, when the package is installed. */
async function benchTestcontainers(key, socket) {
  let tc;
  try {
    tc = await import(pathToFileURL(join(repo, 'node_modules', 'testcontainers', 'build', 'index.js')).href);
  } catch {
    skip(`${key}Tc`, key, 'GenericContainer(httpd).start()', 'testcontainers is not installed (npm ci installs it)');
    return;
  }
  process.env.DOCKER_HOST = `unix://${socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const samples = await measure(`${key}: testcontainers`, async () => {
    const { ms, value } = await timedAsync(() =>
      new tc.GenericContainer('busybox').withCommand(['httpd', '-f', '-p', '80', '-h', '/']).withExposedPorts(80).withWaitStrategy(tc.Wait.forHttp('/', 80).forStatusCode(404)).start(),
    );
    await value.stop({ timeout: 0 });
    return ms;
  }, { iterations: opts.iterations, warmups: opts.warmups });
  record(`${key}Tc`, key, 'GenericContainer(httpd).start()', samples);
}

const PODMAN_FIGURES = [
  ['podmanVersion', 'docker version'],
  ['podmanRunRm', 'docker run --rm busybox true'],
  ['podmanExec', 'docker exec C true'],
  ['podmanTc', 'GenericContainer(httpd).start()'],
];

async function main() {
  const machine = machineInfo();
  const client = ensureDockerClient();
  const { buildRootfsDetails } = await import(pathToFileURL(join(repo, 'rootfs', 'build.mjs')).href);
  const busybox = await buildRootfsDetails('busybox', { log: false });
  nsbox(['image', 'import', busybox.path, '--name', 'busybox']);

  // nsbox's own CLI: what the API's figures stand on.
  const m = (what, fn) => measure(`nsbox CLI: ${what}`, fn, { iterations: opts.iterations, warmups: opts.warmups });
  record('cliRunRm', 'cli', 'nsbox run --rm busybox true', await m('run --rm', () => nsbox(['run', '--rm', 'busybox', 'true']).ms));
  nsbox(['run', '-d', '--name', 'bench-cli-exec', 'busybox', 'sleep', '1000']);
  record('cliExec', 'cli', 'nsbox exec C true', await m('exec', () => nsbox(['exec', 'bench-cli-exec', 'true']).ms));
  nsbox(['rm', '-f', 'bench-cli-exec']);

  const nsboxSock = join(stateRoot, 'nsbox.sock');
  await startService('nsbox system service', process.execPath, [cliPath, '--root', nsboxRoot, 'system', 'service', '--time', '0', `unix://${nsboxSock}`], nsboxSock);
  await benchPeer('nsbox', 'nsbox service', dockerAt(client, nsboxSock));
  await benchTestcontainers('nsbox', nsboxSock);

  const podman = which('podman');
  if (podman) {
    const podmanSock = join(stateRoot, 'podman.sock');
    // podman's storage, run state and network configs private to this run, as nsbox's are.
    const storage = ['--root', join(stateRoot, 'podman-root'), '--runroot', join(stateRoot, 'podman-run'), '--network-config-dir', join(stateRoot, 'podman-cni')];
    const imported = spawnSync(podman, [...storage, 'import', busybox.path, 'docker.io/library/busybox:latest'], { encoding: 'utf8' });
    if (imported.status !== 0) throw new Error(`podman import failed: ${imported.stderr.trim()}`);
    notes.push(`podman: ${firstLine(podman, ['--version'])}, storage in this run's temporary directory`);
    // A podman that cannot run a container here gives no figures, and the report says why.
    const probe = spawnSync(podman, [...storage, 'run', '--rm', 'busybox', 'true'], { encoding: 'utf8' });
    if (probe.status === 0) {
      await startService('podman system service', podman, [...storage, 'system', 'service', '--time', '0', `unix://${podmanSock}`], podmanSock);
      await benchPeer('podman', 'podman service', dockerAt(client, podmanSock));
      await benchTestcontainers('podman', podmanSock);
    } else {
      const why = (probe.stderr.trim().split('\n').pop() ?? `exit ${probe.status}`).replace(/^Error: /, '');
      for (const [k, l] of PODMAN_FIGURES) skip(k, 'podman', l, `podman cannot run a container here: ${why}`);
      notes.push(`PODMAN CANNOT RUN A CONTAINER HERE (\`podman run --rm busybox true\`: ${why}): the targets compare with podman system service, so they are N/A in this run`);
    }
  } else {
    for (const [k, l] of PODMAN_FIGURES) skip(k, 'podman', l, 'podman is not installed');
    notes.push('PODMAN IS NOT INSTALLED HERE: the targets compare with podman system service, so they are N/A in this run; the nsbox CLI figures stand beside the API ones instead');
  }

  roundSummaries(results);
  const ratios = [
    ratioOf('docker run --rm (nsbox service)', med('nsboxRunRm'), 'podman service', med('podmanRunRm'), (r) => `docker run --rm: nsbox service / podman service = ${r.toFixed(2)}×`),
    ratioOf('docker exec (nsbox service)', med('nsboxExec'), 'podman service', med('podmanExec'), (r) => `docker exec: nsbox service / podman service = ${r.toFixed(2)}×`),
    ratioOf('testcontainers start (nsbox service)', med('nsboxTc'), 'podman service', med('podmanTc'), (r) => `testcontainers start: nsbox service / podman service = ${r.toFixed(2)}×`),
    ratioOf('docker run --rm (nsbox service)', med('nsboxRunRm'), 'nsbox run --rm', med('cliRunRm'), (r) => `docker run --rm through the service / nsbox run --rm = ${r.toFixed(2)}×`),
    ratioOf('docker exec (nsbox service)', med('nsboxExec'), 'nsbox exec', med('cliExec'), (r) => `docker exec through the service / nsbox exec = ${r.toFixed(2)}×`),
    ratioOf('docker run --rm (nsbox service)', med('nsboxRunRm'), 'docker version', med('nsboxVersion'), (r) => `docker run --rm / docker version (the client floor) = ${r.toFixed(2)}×`),
  ];
  const vsPodman = (name, key, goal) => {
    const r = ratios.find((x) => x.what.startsWith(name) && x.vs === 'podman service');
    return target(name, `≤ ${goal}× podman`, r?.ratio ?? null, '×', r?.ratio != null && r.ratio <= goal, r?.ratio != null ? `${r.ratio}× (${fmt(med(`nsbox${key}`))} vs ${fmt(med(`podman${key}`))} ms)` : 'podman not measured');
  };
  const report = {
    machine,
    client,
    iterations: opts.iterations,
    warmups: opts.warmups,
    results,
    ratios,
    targets: [vsPodman('docker run --rm', 'RunRm', TARGETS.runRm), vsPodman('docker exec', 'Exec', TARGETS.exec), vsPodman('testcontainers start', 'Tc', TARGETS.testcontainers)],
    notes,
    warnings: [],
  };
  writeReport(report, opts.format, (r) => {
    const out = ['bench-docker-api: the Docker API of nsbox system service', machineLine(r.machine), `  kernel ${r.machine.kernel}, node ${r.machine.node}, ${r.machine.privilege} (uid ${r.machine.uid})`, `  client:   ${r.client}`, `  runs:     ${r.iterations} measured after ${r.warmups} warm-ups per figure`, ''];
    out.push(...resultLines(r.results, { cli: "nsbox's own CLI", nsbox: 'docker CLI → nsbox system service', podman: 'docker CLI → podman system service' }), '');
    out.push(...closingLines(r, 'Targets (medians; issue 15)'));
    process.stdout.write(out.join('\n') + '\n');
  });
}

async function cleanup() {
  const problems = [];
  for (const p of services) if (p.exitCode === null && p.pid) killPid(p.pid, 'SIGTERM');
  await new Promise((ok) => setTimeout(ok, 200));
  for (const p of services) if (p.exitCode === null && p.pid) killPid(p.pid);
  removeCliPods(nsboxRoot, problems);
  // podman keeps its overlay storage mounted on itself; unmount it before the tree goes.
  if (existsSync(join(stateRoot, 'podman-root', 'overlay'))) spawnSync('umount', ['-R', join(stateRoot, 'podman-root', 'overlay')], { stdio: 'ignore' });
  await removeStateRoot(stateRoot, problems);
  for (const p of problems) say(`cleanup: ${p}`);
}

cleanupOnSignals('bench-docker-api', cleanup, () => (interrupted = true));
await runMain('bench-docker-api', main, cleanup, () => interrupted);
