#!/usr/bin/env node
// `kube play --wait` of a two-container pod (busybox httpd, and a client
// that fetches from it until it has an answer, ready once it has), from the
// CLI call until every readiness probe passes, and `kube down` of it; beside
// it podman's kube play of the same file when podman is installed and can
// run pods here (it says so loudly when not: then there is no comparison).
//
//   node scripts/bench-kube.mjs [--iterations N] [--warmups N] [--format table|json]
//
// Everything happens under a private temporary state root (mode 0700),
// removed at the end, also on errors and on SIGINT/SIGTERM.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { cleanupOnSignals, cliPath, createResults, fmt, machineInfo, machineLine, makeStateRoot, measure, parseBenchArgs, progressDone, removeCliPods, removeStateRoot, resultLines, roundSummaries, runMain, timed, writeReport } from './lib/bench.mjs';

const NAME = 'bench-kube';
const usageText = `usage: ${NAME} [--iterations N] [--warmups N] [--format table|json]

Measures (median and p90 in ms, wall clock), N iterations (default 10):
  nsbox kube play --wait FILE     two containers, readiness probes (httpGet, exec)
  nsbox kube play FILE            the same without --wait (for scale)
  nsbox kube down FILE
  podman kube play FILE           and podman kube down FILE, when podman is installed
                                  (in a private store; until the client has the page)
`;
const opts = parseBenchArgs(process.argv.slice(2), { name: NAME, usageText });
if (!process.argv.some((a) => a === '-n' || a === '--iterations')) opts.iterations = 10;

const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: bench-kube
spec:
  containers:
  - name: web
    image: busybox
    command: [sh, -c, 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
  - name: client
    image: busybox
    command: [sh, -c, 'until wget -q -O /tmp/got http://127.0.0.1:8080/index.html; do sleep 0.05; done; sleep 3600']
    readinessProbe: {exec: {command: [test, -s, /tmp/got]}, periodSeconds: 1}
`;

let stateRoot = null;
let cleanedUp = false;
let interrupted = false;
async function cleanup() {
  if (cleanedUp || !stateRoot) return;
  cleanedUp = true;
  const problems = [];
  removeCliPods(stateRoot, problems);
  await removeStateRoot(stateRoot, problems);
  for (const p of problems) process.stderr.write(`${NAME}: cleanup: ${p}\n`);
}
cleanupOnSignals(NAME, cleanup, () => (interrupted = true));

const which = (cmd) => {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
};

/**
 * podman kube play of the same pod, in a private store (--root/--runroot
 * under our state root; nothing of the host's podman is touched), images
 * imported from the same busybox tarball (a pause image too: nothing is
 * pulled). podman before 4.5 has no --wait, and it runs no readiness probes
 * without systemd: its figure is play, then `podman exec` polled until the
 * client has the page (what nsbox's client probe checks). Returns why it
 * could not be measured, or null.
 */
async function measurePodman(podman, tarball, res, step) {
  const dir = join(stateRoot, 'podman');
  mkdirSync(join(dir, 'pause'), { recursive: true });
  const conf = join(dir, 'containers.conf');
  writeFileSync(conf, '[engine]\ninfra_image = "localhost/nsbox-bench-pause:latest"\n');
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const pm = (args, o = {}) => timed(podman, ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), ...args], { env, timeout: 300_000, ...o });
  const version = pm(['--version']).stdout.trim();
  try {
    pm(['import', '-q', tarball, 'localhost/busybox:latest']);
    writeFileSync(join(dir, 'pause', 'pause'), '#!/bin/sh\nexec sleep 2147483647\n', { mode: 0o755 });
    const pauseTar = join(dir, 'pause.tar');
    copyFileSync(tarball, pauseTar);
    timed('tar', ['-rf', pauseTar, '-C', join(dir, 'pause'), '--owner=0', '--group=0', 'pause']);
    pm(['import', '-q', '--change', 'CMD ["/pause"]', pauseTar, 'localhost/nsbox-bench-pause:latest']);
    const file = join(dir, 'bench-kube.yaml');
    writeFileSync(file, MANIFEST.replace(/image: busybox/g, 'image: localhost/busybox:latest').replace(/ {4}readinessProbe: .*\n/g, ''));
    const once = () => {
      const t0 = performance.now();
      const play = pm(['kube', 'play', file], { allowFail: true });
      if (play.status !== 0) {
        pm(['kube', 'down', file], { allowFail: true });
        const cause = /(?:crun|runc): [^\]\n]*/.exec(play.stderr)?.[0] ?? play.stderr.split('\n').find((l) => l.trim()) ?? `exit ${play.status}`;
        throw new Error(`${version} is installed, but its kube play fails here (${cause.slice(0, 120)})`);
      }
      for (let i = 0; pm(['exec', 'bench-kube-client', 'test', '-s', '/tmp/got'], { allowFail: true }).status !== 0; i++) if (i > 600) throw new Error('podman: the client never got the page');
      const ms = performance.now() - t0;
      pdown.push(pm(['kube', 'down', file]).ms);
      return ms;
    };
    const pdown = [];
    const pplay = await measure('podman kube play', once, { iterations: opts.iterations, warmups: opts.warmups, step });
    res.record('podmanPlay', 'podman', `${version.replace('podman version ', 'podman ')} kube play, until the client has the page`, pplay);
    res.record('podmanDown', 'podman', 'podman kube down', pdown.slice(opts.warmups));
    return null;
  } catch (err) {
    return err.message;
  } finally {
    pm(['rmi', '-a', '-f'], { allowFail: true });
  }
}

async function main() {
  stateRoot = makeStateRoot('nsbox-bench-kube-');
  const { buildRootfs } = await import('../rootfs/build.mjs');
  const tarball = await buildRootfs('busybox', { log: false });
  const nsbox = (args) => timed(process.execPath, [cliPath, '--root', stateRoot, ...args]);
  nsbox(['image', 'import', tarball, '--name', 'busybox']);
  const file = join(stateRoot, 'bench-kube.yaml');
  writeFileSync(file, MANIFEST);
  const res = createResults();
  const step = () => {
    if (interrupted) throw new Error('interrupted');
  };
  const downMs = [];
  const playMs = await measure('nsbox kube play --wait', () => {
    const { ms } = nsbox(['kube', 'play', '--wait', '--timeout', '60', file]);
    downMs.push(nsbox(['kube', 'down', file]).ms);
    return ms;
  }, { iterations: opts.iterations, warmups: opts.warmups, step });
  // Without --wait, for scale: --wait's share is mostly the probes' periodSeconds (1 s) after a first probe that comes too early.
  const bareMs = await measure('nsbox kube play', () => {
    const { ms } = nsbox(['kube', 'play', file]);
    nsbox(['kube', 'down', file]);
    return ms;
  }, { iterations: opts.iterations, warmups: opts.warmups, step });
  res.record('nsboxPlay', 'nsbox', 'kube play --wait (2 containers, probes)', playMs);
  res.record('nsboxBare', 'nsbox', 'kube play (no --wait: started)', bareMs);
  res.record('nsboxDown', 'nsbox', 'kube down', downMs.slice(opts.warmups));
  const podman = which('podman');
  const notes = [];
  const why = podman ? await measurePodman(podman, tarball, res, step) : 'PODMAN IS NOT INSTALLED on this machine';
  if (why) {
    res.skip('podmanPlay', 'podman', 'podman kube play, until the client has the page', why);
    notes.push(`${why}: no podman figure was measured, and no ratio against podman is claimed`);
  }
  progressDone();
  roundSummaries(res.results);
  const report = { machine: machineInfo(), iterations: opts.iterations, warmups: opts.warmups, results: res.results, notes };
  writeReport(report, opts.format, (r) => {
    const out = [`${NAME}: kube play --wait of a two-container pod, ${r.iterations} iterations (${r.warmups} warm-ups)`, machineLine(r.machine), `  kernel:   ${r.machine.kernel}, node ${r.machine.node}, ${r.machine.privilege} (${r.machine.user})`, ''];
    out.push(...resultLines(r.results, { nsbox: 'nsbox', podman: 'podman' }), '');
    const p = res.med('podmanPlay');
    if (p != null) out.push(`  nsbox kube play --wait is ${(res.med('nsboxPlay') / p).toFixed(2)} x podman's (${fmt(res.med('nsboxPlay'))} vs ${fmt(p)} ms)`);
    for (const n of r.notes) out.push(`  !!! ${n}`);
    process.stdout.write(out.join('\n') + '\n');
  });
}

await runMain(NAME, main, cleanup, () => interrupted);
