// The process that serves a pod's published ports (the builtin forwarder,
// or pasta), kept running for as long as the pod runs: one that dies is
// started again, with backoff, so the pod never claims ports that nobody
// serves. The builtin forwarder gets the same host listeners again (their
// owner keeps them open, so clients queue meanwhile); pasta binds the ports
// again itself. If it cannot be started again, `giveUp` takes the pod down.
import { kill } from '../native/ffi.js';
import { reaper } from '../native/reaper.js';

const SIGKILL = 9;
const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 5000;
/** After this long without a crash, the backoff starts over. */
const STABLE_MS = 60_000;

export class PortServer {
  private pid = 0;
  private startedAt = 0;
  private crashes = 0;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly start: () => Promise<number>,
    private readonly giveUp: (err: unknown) => void,
    /** Called once the pod is gone, e.g. to close the host listeners. */
    private readonly release: () => void = () => {},
  ) {}

  /** Starts it the first time; a failure here is the caller's (the pod is not made). */
  async begin(): Promise<void> {
    await this.launch();
  }

  /** How many times it was started again after dying. */
  get restarts(): number {
    return this.crashes;
  }

  private async launch(): Promise<void> {
    const pid = await this.start();
    this.pid = pid;
    this.startedAt = Date.now();
    void reaper.wait(pid, { keepAlive: false }).then(() => this.exited(pid));
    if (this.closed) kill(pid, SIGKILL);
  }

  private exited(pid: number): void {
    if (this.closed || pid !== this.pid) return; // killed with the pod: expected
    if (Date.now() - this.startedAt > STABLE_MS) this.crashes = 0;
    const delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.crashes);
    this.crashes += 1;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.closed) return;
      this.launch().catch((err: unknown) => {
        this.closed = true;
        this.giveUp(err);
      });
    }, delay);
    this.retry.unref(); // never what keeps a library user's process alive
  }

  /** The pod is gone: so is the server (the host ports close with the pod). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.pid > 0) kill(this.pid, SIGKILL);
    this.release();
  }

  /** Resolves once the last server has exited, so the host ports are closed. */
  async gone(): Promise<void> {
    if (this.pid > 0) await reaper.wait(this.pid);
  }
}
