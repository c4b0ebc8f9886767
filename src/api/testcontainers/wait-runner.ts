// Runs a wait strategy: within its timeout, stopped at once when the
// container exits (unless its exit is what the strategy waits for), and,
// when it fails, an error that says what it waited for, what it saw last,
// and the container's last log lines.
import { NsboxError } from '../../errors.js';
import { ContainerExit, type WaitStrategy, type WaitTarget } from './wait-target.js';

/** How often the runner looks whether the container has exited. */
const EXIT_POLL_MS = 10;
/** How many of the container's last log lines an error quotes. */
export const ERROR_LOG_LINES = 20;

class Expired extends Error {
  constructor(readonly strategy: WaitStrategy) {
    super('startup timeout');
  }
}

/** Aborts the strategy once it is done (its polls stop). */
const DONE = new Error('done');

/** Waits for one strategy within its own timeout, or until parent aborts (then rejects with parent's reason). */
export async function runWithin(strategy: WaitStrategy, target: WaitTarget, parent: AbortSignal): Promise<void> {
  if (parent.aborted) throw parent.reason;
  const ac = new AbortController();
  const onParent = () => ac.abort(parent.reason);
  parent.addEventListener('abort', onParent);
  const ms = strategy.getStartupTimeout();
  const timer = Number.isFinite(ms) ? setTimeout(() => ac.abort(new Expired(strategy)), ms) : undefined;
  const aborted = new Promise<null>((resolve) => ac.signal.addEventListener('abort', () => resolve(null)));
  const run = strategy.waitUntilReady(target, ac.signal).then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  try {
    const outcome = await Promise.race([run, aborted]);
    if (outcome?.ok) return;
    if (outcome && !ac.signal.aborted) throw outcome.err;
    throw ac.signal.reason;
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onParent);
    if (!ac.signal.aborted) ac.abort(DONE);
  }
}

/** A wait that failed: what it waited for, and the container's last log lines. */
export class WaitError extends NsboxError {
  constructor(
    code: string,
    message: string,
    hint: string,
    /** The container's last log lines (stdout and stderr, in order). */
    readonly logLines: string[],
    /** Its exit code when it exited during the wait, else null. */
    readonly exitCode: number | null,
  ) {
    const quoted = logLines.length ? `\nlast ${logLines.length} log line(s) of the container:\n${logLines.map((l) => `  ${l}`).join('\n')}` : '\nthe container has written no log lines';
    super(code, message + quoted, hint);
    this.name = 'WaitError';
  }
}

function waitError(err: unknown, strategy: WaitStrategy, target: WaitTarget, logLines: string[]): unknown {
  if (err instanceof Expired)
    return new WaitError(
      'WAIT_TIMEOUT',
      `${target.ref} was not ready after ${err.strategy.getStartupTimeout()} ms: ${err.strategy.describe()}`,
      'see its last log lines, or allow more time with .withStartupTimeout(ms)',
      logLines,
      null,
    );
  if (err instanceof ContainerExit)
    return new WaitError(
      'CONTAINER_EXITED',
      `${target.ref} exited with code ${err.exitCode} while starting (${err.why}): ${strategy.describe()}`,
      strategy.awaitsExit ? 'see its last log lines' : 'a container must keep running to be ready: see its last log lines; for a command that runs once, wait with Wait.forOneShotStartup()',
      logLines,
      err.exitCode,
    );
  // A strategy's own verdict (unhealthy): with the log lines too.
  if (err instanceof NsboxError && err.code === 'WAIT_UNHEALTHY') return new WaitError(err.code, err.message, err.hint ?? '', logLines, null);
  return err;
}

/** Waits until the strategy says the container is ready; a WaitError when it will not be. */
export async function waitForReady(strategy: WaitStrategy, target: WaitTarget, lastLogLines: (n: number) => string[]): Promise<void> {
  const ac = new AbortController();
  const watch = strategy.awaitsExit
    ? null
    : setInterval(() => {
        const code = target.exitCode();
        if (code !== null) ac.abort(new ContainerExit(code, 'it stopped before it was ready'));
      }, EXIT_POLL_MS);
  try {
    await runWithin(strategy, target, ac.signal);
  } catch (err) {
    // A strategy that failed on the exit (an exec into an exited container) failed because of it.
    const code = strategy.awaitsExit || err instanceof ContainerExit ? null : target.exitCode();
    const why = code === null ? err : new ContainerExit(code, 'it stopped before it was ready');
    throw waitError(why, strategy, target, lastLogLines(ERROR_LOG_LINES));
  } finally {
    if (watch) clearInterval(watch);
  }
}
