// Reaps the children nsbox creates, and only those: libuv reaps its own, and
// waitpid(-1) would steal them. A SIGCHLD listener sweeps waitpid(pid, WNOHANG)
// over the pids we wait for; a slow poll is the safety net for coalesced
// signals. Waiters that should keep the process alive hold a ref'd timer.
import { reap } from './ffi.js';
import { decodeWaitStatus, type ExitStatus } from '../core/wait-status.js';

interface Waiter {
  resolve: (s: ExitStatus) => void;
  keepAlive: boolean;
  promise: Promise<ExitStatus>;
}

const SAFETY_POLL_MS = 250;

class ChildReaper {
  private waiters = new Map<number, Waiter>();
  private timer: NodeJS.Timeout | undefined;
  private listening = false;
  private readonly onSignal = () => this.sweep();

  /** Resolves when our child `pid` has exited; it is reaped then. */
  wait(pid: number, opts: { keepAlive?: boolean } = {}): Promise<ExitStatus> {
    const existing = this.waiters.get(pid);
    if (existing) {
      if (opts.keepAlive !== false) existing.keepAlive = true;
      this.updateTimer();
      return existing.promise;
    }
    let resolve!: (s: ExitStatus) => void;
    const promise = new Promise<ExitStatus>((r) => (resolve = r));
    this.waiters.set(pid, { resolve, keepAlive: opts.keepAlive !== false, promise });
    if (!this.listening) {
      process.on('SIGCHLD', this.onSignal);
      this.listening = true;
    }
    this.updateTimer();
    this.sweep(); // it may have exited before we listened
    return promise;
  }

  /** Reaps whatever of ours has exited. */
  sweep(): void {
    for (const [pid, w] of this.waiters) {
      const r = reap(pid);
      if (r.rc === 0) continue;
      this.waiters.delete(pid);
      // ECHILD: someone else reaped it; report it as unknown (killed).
      w.resolve(r.rc > 0 ? decodeWaitStatus(r.status) : { code: null, signal: 9 });
    }
    if (this.waiters.size === 0 && this.listening) {
      process.off('SIGCHLD', this.onSignal);
      this.listening = false;
    }
    this.updateTimer();
  }

  private updateTimer(): void {
    if (this.waiters.size === 0) {
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (!this.timer) this.timer = setInterval(() => this.sweep(), SAFETY_POLL_MS);
    const keep = [...this.waiters.values()].some((w) => w.keepAlive);
    if (keep) this.timer.ref();
    else this.timer.unref();
  }
}

export const reaper = new ChildReaper();
