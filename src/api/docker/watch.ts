// What docker's daemon does for a container while it runs, and nsbox's
// keeper does not: it runs the container's health checks at their interval
// (so inspect's State.Health moves, as testcontainers' forHealthCheck
// waits for), and it tells the event stream when the container dies. Both
// end with the run; a new start arms them again. Not tracked as the
// service's work: a running container does not keep the service from
// exiting idle (its checks then stop until it serves again).
import type { Container } from '../container.js';
import { emitContainerEvent } from './events.js';
import type { DockerContainer } from './store.js';

/** The current run of each container: a die is told once per run. */
const runs = new Map<string, { died: boolean }>();

const sleep = (ms: number) =>
  new Promise<void>((ok) => {
    const t = setTimeout(ok, ms);
    t.unref();
  });

/** Tells the event stream that this run ended, unless it was told already. */
export function reportExit(d: DockerContainer, exitCode: number): void {
  const run = runs.get(d.Id);
  if (!run || run.died) return;
  run.died = true;
  emitContainerEvent('die', d, { exitCode: String(exitCode) });
}

async function healthLoop(c: Container, run: { died: boolean }, intervalMs: number): Promise<void> {
  const { runHealthCheck } = await import('../health.js');
  for (;;) {
    await sleep(intervalMs);
    if (run.died || c.state() !== 'running') return;
    // A failed check is the check's result (recorded); a check that cannot run at all ends the loop.
    try {
      await runHealthCheck(c);
    } catch {
      return;
    }
  }
}

/** Arms the watch of a run that has just started. */
export function watchRun(d: DockerContainer, c: Container): void {
  const run = { died: false };
  runs.set(d.Id, run);
  const health = c.record().healthcheck;
  if (health) void healthLoop(c, run, health.intervalMs);
  void c.wait().then(
    (code) => runs.get(d.Id) === run && reportExit(d, code),
    () => {},
  );
}
