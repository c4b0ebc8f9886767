// A container the builder started (typestate: only a started container has
// ports, exec, logs, restart and stop). It lives in a pod: its own (made for
// it, named after it, removed with it) or a GenericPod's.
import { readFileSync } from 'node:fs';
import { containerHealth } from '../health.js';
import type { Readable, Writable } from 'node:stream';
import { NsboxError } from '../../errors.js';
import { listeningTcpPorts } from '../../core/proc-net.js';
import type { ExposedPort, PortProtocol } from '../../core/exposed-ports.js';
import type { ExecOptions, ExecResult } from '../../pod/exec.js';
import type { Container, ContainerLogs } from '../container.js';
import type { Pod } from '../pod.js';
import { followLogs, lastLogLines, logLinesSince } from './log-lines.js';
import { waitForReady } from './wait-runner.js';
import type { BoundPort, WaitStrategy, WaitTarget } from './wait-target.js';

/** Published ports are bound here (never on every address unless asked), and reached here. */
export const HOST_IP = '127.0.0.1';

export interface StopOptions {
  /** Grace period in ms after the stop signal before SIGKILL (testcontainers' default: 0, kill at once). */
  timeout?: number;
}

export interface RestartOptions {
  /** As for stop. */
  timeout?: number;
}

/** A stopped container: removed, with what it exited with. */
export class StoppedGenericContainer {
  constructor(
    private readonly id: string,
    private readonly name: string,
    /** Its exit code (137 when it was killed), or null when it was gone already. */
    readonly exitCode: number | null,
  ) {}

  getId(): string {
    return this.id;
  }

  getName(): string {
    return this.name;
  }
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // no IPv6 in the kernel, or the pod is gone
  }
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof NsboxError && ['NO_SUCH_CONTAINER', 'NO_SUCH_POD', 'POD_NOT_RUNNING'].includes(err.code))) throw err;
}

export class StartedGenericContainer implements AsyncDisposable {
  private stopped: Promise<StoppedGenericContainer> | null = null;
  private readonly id: string;

  constructor(
    private readonly pod: Pod,
    /** nsbox's handle on it (record, kill, wait, …). */
    readonly container: Container,
    private readonly exposed: ExposedPort[],
    private readonly waitStrategy: WaitStrategy,
    /** Its pod was made for it: stop removes the pod. */
    private readonly ownsPod: boolean,
  ) {
    this.id = container.record().id;
  }

  getHost(): string {
    return HOST_IP;
  }

  /** How nsbox's CLI names it: NAME for a container in a pod of its own, else POD/NAME. */
  get ref(): string {
    return this.ownsPod ? this.container.name : this.container.ref;
  }

  getHostname(): string {
    return this.pod.record.hostname;
  }

  getName(): string {
    return this.container.name;
  }

  getId(): string {
    return this.id;
  }

  getLabels(): Record<string, string> {
    return this.container.record().labels ?? {};
  }

  /** The host port published for a container port (80, or "80/udp"); any port of its pod. */
  getMappedPort(port: number | `${number}/${PortProtocol}`, protocol: PortProtocol = 'tcp'): number {
    const [n, proto] = typeof port === 'string' ? [Number(port.split('/')[0]), (port.split('/')[1] ?? 'tcp') as PortProtocol] : [port, protocol];
    const m = (this.pod.record.ports ?? []).find((p) => p.podPort === n && p.protocol === proto);
    if (!m) throw new NsboxError('PORT_NOT_EXPOSED', `port ${n}/${proto} is not exposed by ${this.ref}`, `expose it with .withExposedPorts(${proto === 'tcp' ? n : `'${n}/${proto}'`})`);
    return m.hostPort;
  }

  getFirstMappedPort(): number {
    const first = this.exposed[0];
    if (!first) throw new NsboxError('PORT_NOT_EXPOSED', `${this.ref} exposes no port`, 'expose one with .withExposedPorts(80)');
    return this.getMappedPort(first.container, first.protocol);
  }

  /** Runs a command inside it; a string is split on spaces, as testcontainers does (no shell). */
  exec(command: string | string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const argv = Array.isArray(command) ? command : command.split(' ').filter(Boolean);
    return this.container.exec(argv, opts);
  }

  /** Its output as a text stream that follows it until it exits (or the stream is destroyed). */
  async logs(opts: { tail?: number } = {}): Promise<Readable> {
    return followLogs(this.container, opts);
  }

  /** Its output so far. */
  logsSnapshot(opts: { tail?: number } = {}): ContainerLogs {
    return this.container.logs(opts);
  }

  /** Copies a host path (docker cp's rules) or these bytes (as the file `path`) into it: nsbox's Container.copyTo. */
  copyTo(hostPathOrBytes: string | Buffer, path: string, opts: { archive?: boolean } = {}): Promise<void> {
    return this.container.copyTo(hostPathOrBytes, path, opts);
  }

  /** Copies `path` out of it: to a host path, into a stream as tar, or (without either) returns the tar. */
  copyFrom(path: string, dest?: string | Writable): Promise<Buffer | undefined> {
    return this.container.copyFrom(path, dest);
  }

  /** Stops it and starts it again in the same pod (same published ports), then waits as start did. */
  async restart(opts: RestartOptions = {}): Promise<void> {
    await this.container.stop({ timeoutSeconds: (opts.timeout ?? 0) / 1000 });
    const since = Date.now(); // what the stopping run wrote does not count for the wait
    await this.container.start();
    await this.waitUntilReady(since);
  }

  /** Stops and removes it (and its own pod); again, it only returns the same result. */
  stop(opts: StopOptions = {}): Promise<StoppedGenericContainer> {
    this.stopped ??= this.stopAndRemove(opts);
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** @internal Waits with its strategy for the start that began at `since`. */
  async waitUntilReady(since: number): Promise<void> {
    await waitForReady(this.waitStrategy, this.waitTarget(since), (n) => lastLogLines(this.container, n));
  }

  private async stopAndRemove(opts: StopOptions): Promise<StoppedGenericContainer> {
    let exitCode: number | null = null;
    try {
      exitCode = (await this.container.stop({ timeoutSeconds: (opts.timeout ?? 0) / 1000 })).exitCode;
    } catch (err) {
      ignoreGone(err);
    }
    if (this.ownsPod) await this.pod.remove({ force: true, timeoutSeconds: 0 });
    else await this.container.remove({ force: true }).catch(ignoreGone);
    return new StoppedGenericContainer(this.id, this.container.name, exitCode);
  }

  private waitTarget(since: number): WaitTarget {
    const c = this.container;
    const pausePid = this.pod.record.pause.pid;
    const ports: BoundPort[] = this.exposed.map((p) => ({ container: p.container, host: this.getMappedPort(p.container, p.protocol), protocol: p.protocol }));
    return {
      ref: this.ref,
      host: HOST_IP,
      ports,
      mappedPort: (port, protocol) => this.getMappedPort(port, protocol),
      listeningPorts: () => new Set([...listeningTcpPorts(readOr(`/proc/${pausePid}/net/tcp`)), ...listeningTcpPorts(readOr(`/proc/${pausePid}/net/tcp6`))]),
      exec: (argv, o) => c.exec(argv, o),
      health: () => containerHealth(c)?.Status ?? null,
      openLog: () => logLinesSince(c.paths().log, since),
      exitCode: () => {
        try {
          // The record says so once its supervisor has reaped it (with its code); a pod that died has no supervisor left.
          const r = c.record();
          if (r.state === 'exited') return r.exitCode ?? 0;
          return this.pod.status() === 'running' ? null : 137;
        } catch {
          return null;
        }
      },
    };
  }
}
