// A handle on one container, for the library and the CLI: reads its record
// and log from the state directory, asks the pod's supervisor to change it.
import type { Writable } from 'node:stream';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { closeFd, pidfdOpen, pidfdSendSignal } from '../native/ffi.js';
import { buildEnv, execCaptured, type ExecOptions, type ExecResult } from '../pod/exec.js';
import type { Pod } from './pod.js';
import type { AttachOptions, Attachment } from './attach-keeper.js';
import { isAlive } from '../process/proc-stat.js';
import { parseSignal } from '../core/wait-status.js';
import { readContainerRecord } from '../container/record-store.js';
import { containerPaths } from '../container/files.js';
import { LogCursor, tailLog } from '../container/log-reader.js';
import type { LogEntry } from '../container/logs.js';
import { containerExecPlan } from '../container/plans.js';
import { containerSeccompProgram } from '../container/seccomp.js';
import { refuse, type ContainerRecord } from '../container/record.js';
import { can, reduceContainerState, stopIsNoop, type ContainerState, type ContainerVerb } from '../core/lifecycle.js';

export interface ContainerLogs {
  stdout: string;
  stderr: string;
}

export class Container {
  constructor(
    readonly pod: Pod,
    readonly name: string,
  ) {}

  get ref(): string {
    return `${this.pod.name}/${this.name}`;
  }

  paths() {
    return containerPaths(this.pod.root, this.pod.id, this.name);
  }

  record(): ContainerRecord {
    const r = readContainerRecord(this.paths());
    if (!r) throw new NsboxError('NO_SUCH_CONTAINER', `no such container: ${this.ref}`, `list containers with \`nsbox ps -a --pod ${this.pod.name}\``);
    return r;
  }

  /** Its state now: the record's, unless its process or its pod died under it. */
  state(r: ContainerRecord = this.record()): ContainerState {
    return reduceContainerState(r.state, { processAlive: isAlive(r.process), podRunning: this.pod.status() === 'running' });
  }

  /** The output so far; with tail, only the last lines. */
  logs(opts: { tail?: number } = {}): ContainerLogs {
    const path = this.paths().log;
    let entries: LogEntry[];
    if (opts.tail !== undefined) entries = tailLog(path, opts.tail);
    else {
      const cursor = new LogCursor(path);
      entries = [];
      for (let batch = cursor.next(); batch.length; batch = cursor.next()) entries.push(...batch);
      cursor.close();
    }
    return {
      stdout: entries.filter((e) => e.stream === 'stdout').map((e) => e.log).join(''),
      stderr: entries.filter((e) => e.stream === 'stderr').map((e) => e.log).join(''),
    };
  }

  /** Resolves with the exit code once the container has exited for good. */
  async wait(): Promise<number> {
    const r = this.record();
    if (r.state === 'exited') return r.exitCode ?? 0;
    // Its pod died under it (SIGKILL): no supervisor will record the exit.
    if (this.pod.status() === 'exited') return r.exitCode ?? 137;
    return (await this.pod.waitContainer(this.name)).exitCode ?? 0;
  }

  /**
   * Attaches to it (a container of a detached pod, created, running or
   * restarting): its output as it comes, its stdin (run with openStdin),
   * its terminal's size (tty), and its exit code. Several may attach.
   */
  async attach(opts: AttachOptions = {}): Promise<Attachment> {
    const { attachContainer } = await import('./attach-keeper.js');
    return attachContainer(this, opts);
  }

  /** Its terminal's window size (a container run with tty in a detached pod; docker's resize). */
  async resize(cols: number, rows: number): Promise<void> {
    const r = this.record();
    if (!r.tty) throw new NsboxError('INVALID_ARGUMENT', `cannot resize ${this.ref}: it has no terminal`, 'run it with -t (tty: true)');
    if (this.pod.isLocal) throw new NsboxError('NOT_DETACHED', `cannot resize ${this.ref}: its pod is run by this process, not by a keeper`, 'create the pod with `detached: true`');
    const [{ okWords, requestKeeper }, { statePaths }] = await Promise.all([import('../keeper/client.js'), import('../state/paths.js')]);
    okWords(await requestKeeper(statePaths.podSocket(this.pod.root, this.pod.id), `resize ${this.name} ${Math.trunc(rows)} ${Math.trunc(cols)}`), 'resize');
  }

  /** Runs the exited container again (podman/docker `start`). */
  async start(): Promise<ContainerRecord> {
    return this.pod.restartExited(this.name);
  }

  /**
   * Stops it; one that is not running is left as it is (podman and docker
   * succeed too). Only the supervisor knows whether a process that just
   * died is about to be restarted, so it decides while the pod runs.
   */
  async stop(opts: { timeoutSeconds?: number } = {}): Promise<ContainerRecord> {
    const r = this.record();
    if (stopIsNoop(r.state) || this.pod.status() !== 'running') return r;
    return this.pod.stopContainer(this.name, opts.timeoutSeconds ?? 10);
  }

  /** Sends a signal to the container's process (default SIGKILL). */
  kill(signal: string | number = 'KILL'): void {
    const sig = parseSignal(signal);
    if (sig === null) throw new NsboxError('INVALID_ARGUMENT', `unknown signal ${JSON.stringify(signal)}`, 'use a name such as TERM, USR1 or KILL, or a number');
    const r = this.record();
    const fd = this.openPidfd(r, 'kill');
    try {
      const rc = pidfdSendSignal(fd, sig);
      if (rc < 0) throw new NsboxError('KILL_FAILED', `cannot signal ${this.ref}: ${errnoName(-rc)}`, 'check that it is still running with `nsbox ps`');
    } finally {
      closeFd(fd);
    }
  }

  /** Stops it (when it runs) and starts it again, as podman's restart. */
  async restart(opts: { timeoutSeconds?: number } = {}): Promise<ContainerRecord> {
    await this.stop(opts);
    return this.start();
  }

  /**
   * Copies into the container, running or stopped: a host path to `path`
   * (docker cp's rules; DIR/. copies the contents), or these bytes as the
   * file `path`. The files are the container's root's unless `archive`.
   */
  async copyTo(hostPathOrBytes: string | Buffer, path: string, opts: { archive?: boolean } = {}): Promise<void> {
    const { copyToContainer } = await import('./copy.js');
    await copyToContainer(this, hostPathOrBytes, path, opts);
  }

  /**
   * Copies `path` out of the container: to a host path (docker cp's rules),
   * into a writable stream as tar, or, without either, returns the tar.
   */
  async copyFrom(path: string, dest?: string | Writable): Promise<Buffer | undefined> {
    const { copyFromContainer } = await import('./copy.js');
    if (typeof dest === 'string') return void (await copyFromContainer(this, path, dest));
    if (dest) return void (await copyFromContainer(this, path, { tar: dest }));
    const chunks: Buffer[] = [];
    const { Writable: W } = await import('node:stream');
    await copyFromContainer(this, path, { tar: new W({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }) });
    return Buffer.concat(chunks);
  }

  /** Removes it; a pod that `run` made for it goes with it. */
  /** Removes it (with force, stops it first); with volumes, its anonymous volumes go too (docker's rm -v). */
  async remove(opts: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const mounts = opts.volumes ? this.record().mounts : undefined;
    await this.pod.removeContainer(this.name, !!opts.force);
    if (this.pod.record.ownedBy === this.name) await this.pod.remove({ force: true });
    if (mounts) await (await import('../volume/anonymous.js')).removeAnonymousVolumes(mounts);
  }

  /** Runs a command inside the running container (its root, workdir and env). */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const r = this.record();
    const fd = this.openPidfd(r, 'exec');
    try {
      const env = buildEnv(Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])), opts.env);
      return await execCaptured(opts, (stdio) =>
        containerExecPlan({ containerPidfd: fd, argv, env, cwd: opts.cwd ?? r.workdir, user: r.user, canSetGroups: this.pod.record.mapping !== 'single', stdio: { fds: stdio }, capabilities: r.capabilities, seccomp: containerSeccompProgram(r, this.paths()) }),
      );
    } finally {
      closeFd(fd);
    }
  }

  /** Throws the one-line refusal unless `verb` may be done in its state now. */
  refuseUnless(r: ContainerRecord, verb: Extract<ContainerVerb, 'exec' | 'kill'>): void {
    const state = this.state(r);
    if (!can(verb, state)) throw refuse(r, verb, state);
  }

  /** A pidfd on the container's process, checked against its start time. */
  openPidfd(r: ContainerRecord, verb: Extract<ContainerVerb, 'exec' | 'kill'>): number {
    this.refuseUnless(r, verb);
    const fd = pidfdOpen(r.process!.pid);
    if (fd < 0 || !isAlive(r.process)) {
      if (fd >= 0) closeFd(fd);
      throw refuse(r, verb, 'exited');
    }
    return fd;
  }
}
