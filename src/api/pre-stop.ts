// Running preStop hooks (kube play's lifecycle.preStop) before a stop: the
// hook and the stop signal share one grace period, as with the kubelet. A
// hook that fails or times out does not hold the stop up: the kubelet also
// goes on to the signal (it reports FailedPreStopHook as an event).
import { setTimeout as sleep } from 'node:timers/promises';
import { graceLeft } from '../core/pre-stop.js';
import type { ContainerRecord } from '../container/record.js';
import type { Container } from './container.js';

/** Runs the container's hook if it has one and runs; resolves with the seconds of grace left. */
export async function runPreStop(container: Container, graceSeconds: number, r?: ContainerRecord): Promise<number> {
  let rec: ContainerRecord;
  try {
    rec = r ?? container.record();
  } catch {
    return graceSeconds;
  }
  const hook = rec.preStop;
  // A stop with no grace (rm -f, kill) runs no hook, as a forced delete does not.
  if (!hook || graceSeconds <= 0 || container.state(rec) !== 'running') return graceSeconds;
  const started = Date.now();
  const budgetMs = graceSeconds * 1000;
  if ('exec' in hook) await container.exec(hook.exec, { timeoutMs: budgetMs }).catch(() => undefined);
  else await sleep(Math.min(hook.sleepSeconds * 1000, budgetMs));
  return graceLeft(graceSeconds, Date.now() - started);
}

/** Runs the hooks of the pod's running containers side by side; resolves with the grace left to all. */
export async function runPodPreStops(containers: { container: Container; record: ContainerRecord }[], graceSeconds: number): Promise<number> {
  const started = Date.now();
  const hooked = containers.filter((c) => c.record.preStop);
  if (!hooked.length || graceSeconds <= 0) return graceSeconds;
  await Promise.all(hooked.map((c) => runPreStop(c.container, graceSeconds, c.record)));
  return graceLeft(graceSeconds, Date.now() - started);
}
