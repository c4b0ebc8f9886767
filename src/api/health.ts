// One health check of a container (`nsbox healthcheck run`, and what the
// pod's keeper or the library process runs every interval): the check's
// command runs in the container as an exec does, bounded by its timeout;
// the result moves the health state (core/health.ts); on turning unhealthy,
// --health-on-failure acts (kill, stop or restart), as podman's does.
import { NsboxError } from '../errors.js';
import { initialHealth, nextHealth, type HealthConfig, type HealthLogEntry, type HealthState } from '../core/health.js';

export type { HealthState, HealthStatus, HealthConfig } from '../core/health.js';
import { currentHealth, updateHealth } from '../container/health-store.js';
import type { Container } from './container.js';

/** docker keeps this much of a check's output. */
const OUTPUT_KEPT = 4096;

export interface HealthCheckResult {
  /** This check succeeded. */
  passed: boolean;
  state: HealthState;
}

/** The health state of a container now: none without a check, starting before the first result of this run. */
export function containerHealth(c: Container): HealthState | null {
  return currentHealth(c.record(), c.paths().dir);
}

export async function runHealthCheck(c: Container): Promise<HealthCheckResult> {
  const r = c.record();
  const cfg = r.healthcheck;
  if (!cfg) throw new NsboxError('NO_HEALTHCHECK', `${c.ref} has no health check`, 'run it with --health-cmd "COMMAND" (or from an image with a Healthcheck)');
  const state = c.state(r);
  if (state !== 'running') throw new NsboxError('CONTAINER_STATE', `${c.ref} is not running (${state}): its health is not checked`, `start it with \`nsbox start ${c.ref}\``);
  const result = await checkOnce(c, cfg);
  let before = 'starting' as HealthState['Status'];
  const next = await updateHealth(c.paths().dir, (prev) => {
    const current = prev && prev.startedAt === r.startedAt ? prev : initialHealth(r.startedAt);
    before = current.Status;
    return nextHealth(current, result, cfg, Date.now());
  });
  if (before !== 'unhealthy' && next.Status === 'unhealthy') await onUnhealthy(c, cfg.onFailure, cfg.graceSeconds);
  return { passed: result.ExitCode === 0, state: next };
}

/** One run of the check: its command in the container, or (kube play's httpGet and tcpSocket) a probe in the pod's network. */
async function checkOnce(c: Container, cfg: HealthConfig): Promise<HealthLogEntry> {
  const Start = new Date().toISOString();
  const End = () => new Date().toISOString();
  if (cfg.probe) {
    const { runProbe } = await import('./probe.js');
    const p = await runProbe(c, cfg.probe, cfg.timeoutMs);
    return { Start, End: End(), ExitCode: p.passed ? 0 : p.timedOut ? -1 : 1, Output: p.output.slice(0, OUTPUT_KEPT) };
  }
  try {
    const res = await c.exec(cfg.test, { timeoutMs: cfg.timeoutMs });
    const output = (res.stdout + res.stderr).slice(0, OUTPUT_KEPT);
    return res.timedOut
      ? { Start, End: End(), ExitCode: -1, Output: `health check exceeded its timeout of ${cfg.timeoutMs} ms` }
      : { Start, End: End(), ExitCode: res.exitCode ?? 128 + 9, Output: output };
  } catch (err) {
    if (!(err instanceof NsboxError)) throw err;
    // The command could not run (not found, or the container went): a failed check, as docker counts it.
    return { Start, End: End(), ExitCode: err.code === 'CONTAINER_STATE' ? -1 : 127, Output: err.oneLine() };
  }
}

async function onUnhealthy(c: Container, action: HealthConfig['onFailure'], graceSeconds = 30): Promise<void> {
  try {
    if (action === 'terminate') await terminate(c, graceSeconds);
    else if (action === 'kill') c.kill('KILL');
    else if (action === 'stop') await c.stop();
    else if (action === 'restart') await c.restart();
  } catch (err) {
    if (!(err instanceof NsboxError)) throw err; // it went meanwhile
  }
}

/**
 * The kubelet's kill of a container whose liveness probe failed: its preStop
 * hook, its stop signal, SIGKILL when the grace period is over. Not a stop
 * on purpose, so the restart policy then applies.
 */
async function terminate(c: Container, graceSeconds: number): Promise<void> {
  const { runPreStop } = await import('./pre-stop.js');
  const started = c.record().startedAt;
  const ended = () => {
    const r = c.record();
    return r.startedAt !== started || c.state(r) !== 'running';
  };
  const left = await runPreStop(c, graceSeconds);
  if (ended()) return;
  c.kill(c.record().stopSignal ?? 'TERM');
  const deadline = Date.now() + left * 1000;
  while (!ended() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  if (!ended()) c.kill('KILL');
}

export type WaitCondition = 'exited' | 'stopped' | 'running' | 'healthy' | 'unhealthy';
export const WAIT_CONDITIONS: readonly WaitCondition[] = ['exited', 'stopped', 'running', 'healthy', 'unhealthy'];

/**
 * podman's `wait --condition`: resolves with the exit code (exited, stopped)
 * or 0 once the container is in that state; a container that exits while it
 * is awaited to run or be healthy is an error naming its exit code.
 */
export async function waitForCondition(c: Container, condition: WaitCondition, opts: { pollMs?: number } = {}): Promise<number> {
  if (!WAIT_CONDITIONS.includes(condition)) throw new NsboxError('INVALID_ARGUMENT', `unknown condition ${JSON.stringify(condition)}`, `use one of ${WAIT_CONDITIONS.join(', ')}`);
  if (condition === 'exited' || condition === 'stopped') return c.wait();
  if (condition !== 'running' && !c.record().healthcheck) throw new NsboxError('NO_HEALTHCHECK', `${c.ref} has no health check, so it never becomes ${condition}`, 'run it with --health-cmd "COMMAND"');
  for (;;) {
    const r = c.record();
    const state = c.state(r);
    if (condition === 'running' && state === 'running') return 0;
    if (condition !== 'running' && state === 'running' && containerHealth(c)?.Status === condition) return 0;
    if (state === 'exited') throw new NsboxError('CONTAINER_STATE', `${c.ref} exited (code ${r.exitCode ?? 0}) before it was ${condition}`, `see why with \`nsbox logs ${c.ref}\``);
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 100));
  }
}
