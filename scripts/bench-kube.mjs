#!/usr/bin/env node
// `kube play --wait` of a two-container pod (busybox httpd, and a client
// that fetches from it until it has an answer, ready once it has), from the
// CLI call until every readiness probe passes, and `kube down` of it; beside
// it `podman kube play --wait` of the same file when podman is installed (it
// says so loudly when it is not: then there is no comparison).
//
//   node scripts/bench-kube.mjs [--iterations N] [--warmups N] [--format table|json]
//
// Everything happens under a private temporary state root (mode 0700),
// removed at the end, also on errors and on SIGINT/SIGTERM.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupOnSignals, cliPath, createResults, fmt, machineInfo, machineLine, makeStateRoot, measure, parseBenchArgs, progressDone, removeCliPods, removeStateRoot, resultLines, roundSummaries, runMain, timed, writeReport } from './lib/bench.mjs';

const NAME = 'bench-kube';
const usageText = `usage: ${NAME} [--iterations N] [--warmups N] [--format table|json]

Measures (median and p90 in ms, wall clock), N iterations (default 10):
  nsbox kube play --wait FILE     two containers, readiness probes (httpGet, exec)
  nsbox kube down FILE
  podman kube play --wait FILE    and podman kube down FILE, when podman is installed
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
    command: [httpd, -f, -p, '8080', -h, /srv]
    readinessProbe: {httpGet: {path: /hello.txt, port: 8080}, periodSeconds: 1}
  - name: client
    image: busybox
    command: [sh, -c, 'until wget -q -O /tmp/got http://127.0.0.1:8080/hello.txt; do sleep 0.05; done; sleep 3600']
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
    const { ms } = nsbox(['kube', 'play', '--wait', file]);
    downMs.push(nsbox(['kube', 'down', file]).ms);
    return ms;
  }, { iterations: opts.iterations, warmups: opts.warmups, step });
  res.record('nsboxPlay', 'nsbox', 'kube play --wait (2 containers, probes)', playMs);
  res.record('nsboxDown', 'nsbox', 'kube down', downMs.slice(opts.warmups));
  const podman = which('podman');
  const notes = [];
  if (podman) {
    const pm = (args) => timed(podman, args, { timeout: 300_000 });
    pm(['pull', '-q', 'docker.io/library/busybox']);
    const podmanFile = join(stateRoot, 'bench-kube-podman.yaml');
    writeFileSync(podmanFile, MANIFEST.replace(/image: busybox/g, 'image: docker.io/library/busybox'));
    const pdown = [];
    const pplay = await measure('podman kube play --wait', () => {
      const { ms } = pm(['kube', 'play', '--wait', podmanFile]);
      pdown.push(pm(['kube', 'down', podmanFile]).ms);
      return ms;
    }, { iterations: opts.iterations, warmups: opts.warmups, step });
    res.record('podmanPlay', 'podman', 'podman kube play --wait', pplay);
    res.record('podmanDown', 'podman', 'podman kube down', pdown.slice(opts.warmups));
  } else {
    res.skip('podmanPlay', 'podman', 'podman kube play --wait', 'PODMAN IS NOT INSTALLED on this machine: no comparison was measured');
    notes.push('PODMAN IS NOT INSTALLED: the podman figures are missing, and no ratio against podman is claimed');
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
