// `kube play --wait`: every container ready, by its readiness probe (run
// here, each period, after its initial delay), or running when it has none
// for a second (a container that exited 0 under restartPolicy Never or OnFailure has
// done its work, and counts). On timeout, or when a container exits for
// good, the error names each container that is not ready, why, and its
// last log lines.
import { NsboxError } from '../errors.js';
import type { KubePod } from '../kube/model.js';
import { Container } from './container.js';
import type { Pod } from './pod.js';
import { runProbe } from './probe.js';
import { lastLogLines } from './testcontainers/log-lines.js';

interface Waiting {
  c: Container;
  ref: string;
  spec: KubePod['containers'][number];
  restart: KubePod['restart'];
  ready: boolean;
  why: string;
  nextProbeAt: number;
}

const POLL_MS = 100;
/** How long a container without a readiness probe must have run to count as ready. */
const SETTLE_MS = 1000;

export async function waitKubeReady(pods: { pod: Pod; spec: KubePod }[], timeoutMs: number): Promise<void> {
  const started = Date.now();
  const all: Waiting[] = pods.flatMap(({ pod, spec }) =>
    spec.containers.map((s) => ({ c: new Container(pod, s.name), ref: `${spec.name}/${s.name}`, spec: s, restart: spec.restart, ready: false, why: 'not started', nextProbeAt: started + (s.readiness?.initialDelayMs ?? 0) })),
  );
  for (;;) {
    await Promise.all(all.filter((w) => !w.ready).map((w) => check(w)));
    const dead = all.find((w) => !w.ready && w.why.startsWith('exited'));
    if (dead || all.every((w) => w.ready)) {
      if (!dead) return;
      throw notReady(all, `${dead.ref} ${dead.why}`);
    }
    if (Date.now() - started > timeoutMs) throw notReady(all, `not ready within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function check(w: Waiting): Promise<void> {
  const r = w.c.record();
  const state = w.c.state(r);
  if (state === 'exited') {
    // Dead, but its parent has not recorded the exit yet: its code decides, so look again.
    if (r.state !== 'exited' || r.exitCode === null) return void (w.why = 'exiting');
    const code = r.exitCode;
    if (code === 0 && w.restart !== 'always') return void ((w.ready = true), (w.why = 'completed'));
    w.why = `exited with code ${code}${r.error ? ` (${r.error})` : ''}`;
    return;
  }
  if (state !== 'running') return void (w.why = state);
  const probe = w.spec.readiness;
  if (!probe) {
    // Running for a moment, not just started: a container that fails at once must not pass for ready.
    const upMs = Date.now() - Date.parse(r.startedAt ?? '');
    if (!(upMs >= SETTLE_MS)) return void (w.why = 'starting');
    return void ((w.ready = true), (w.why = 'running'));
  }
  if (Date.now() < w.nextProbeAt) return void (w.why = w.why === 'not started' ? 'readiness probe not run yet (initialDelaySeconds)' : w.why);
  w.nextProbeAt = Date.now() + probe.periodMs;
  const res = await runProbe(w.c, probe.action, probe.timeoutMs);
  w.ready = res.passed;
  w.why = res.passed ? 'ready' : `readiness probe failing: ${res.output || 'failed'}`;
}

function notReady(all: Waiting[], headline: string): NsboxError {
  const parts = all
    .filter((w) => !w.ready)
    .map((w) => {
      const lines = lastLogLines(w.c, 3);
      return `${w.ref}: ${w.why}${lines.length ? `; last log lines: ${lines.join(' | ')}` : ''}`;
    });
  return new NsboxError('KUBE_NOT_READY', `kube play --wait: ${headline}: ${parts.join('; ')}`, 'see `nsbox logs POD/CONTAINER`; the pods were removed');
}
