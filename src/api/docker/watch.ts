// The die event of a run: docker's daemon tells its event stream when a
// container exits, whoever stopped it. A start arms the watch of that run
// (the keeper reports the exit); a stop or a forced removal through the
// service tells it first. Not tracked as the service's work: a running
// container does not keep the service from exiting idle.
import type { Container } from '../container.js';
import { emitContainerEvent } from './events.js';
import type { DockerContainer } from './store.js';

/** The current run of each container: a die is told once per run. */
const runs = new Map<string, { died: boolean }>();

/** Tells the event stream that this run ended, unless it was told already. */
export function reportExit(d: DockerContainer, exitCode: number): void {
  const run = runs.get(d.Id);
  if (!run || run.died) return;
  run.died = true;
  emitContainerEvent('die', d, { exitCode: String(exitCode) });
}

/** Arms the watch of a run that has just started. */
export function watchRun(d: DockerContainer, c: Container): void {
  const run = { died: false };
  runs.set(d.Id, run);
  void c.wait().then(
    (code) => runs.get(d.Id) === run && reportExit(d, code),
    () => {},
  );
}
