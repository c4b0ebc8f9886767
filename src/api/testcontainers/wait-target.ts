// What a wait strategy may look at while a container starts (its published
// ports, the sockets listening in its pod, its log since this start, exec,
// whether it still runs), and what a strategy is. The target is made by the
// started container (started-container.ts), strategies in wait-strategies.ts.
import type { ExecOptions, ExecResult } from '../../pod/exec.js';
import type { PortProtocol } from '../../core/exposed-ports.js';

export interface BoundPort {
  container: number;
  host: number;
  protocol: PortProtocol;
}

export interface WaitTarget {
  /** POD/NAME, for messages. */
  readonly ref: string;
  /** Where its published ports are reached from this host. */
  readonly host: string;
  /** The ports this container exposed, as bound on the host. */
  readonly ports: BoundPort[];
  /** The host port of a container port (any of its pod's); a clear error when none. */
  mappedPort(port: number, protocol?: PortProtocol): number;
  /** TCP ports listening in the pod's network namespace now. */
  listeningPorts(): Set<number>;
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Reads the log lines written since this start, a batch per call ([] when nothing new). */
  openLog(): LogLines;
  /** Its exit code once it has exited for good, else null (running, or about to be restarted). */
  exitCode(): number | null;
  /** Its health check's state now; null when it has none. */
  health(): 'starting' | 'healthy' | 'unhealthy' | null;
}

export interface LogLines {
  /** Whole lines since the last call; with end, also an unfinished last line. */
  next(end?: boolean): string[];
  close(): void;
}

export interface WaitStrategy {
  /** Resolves once ready; stops (and may reject) once signal aborts. */
  waitUntilReady(target: WaitTarget, signal: AbortSignal): Promise<void>;
  withStartupTimeout(startupTimeoutMs: number): this;
  isStartupTimeoutSet(): boolean;
  getStartupTimeout(): number;
  /** What it waits for and what it saw last, for the error when its time runs out. */
  describe(): string;
  /** The container's exit is what it waits for (forOneShotStartup): the runner does not fail on it. */
  readonly awaitsExit: boolean;
}

/** The container exited (with code) while a strategy waited; why says what that means. */
export class ContainerExit extends Error {
  constructor(
    readonly exitCode: number,
    readonly why: string,
  ) {
    super(`exited with code ${exitCode}`);
  }
}

