// A handle on one pod. Local pods are run by this process (library mode);
// detached ones are reached through their records, pidfds and their
// keeper's socket.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NsboxError } from '../errors.js';
import { closeFd, pidfdSendSignal } from '../native/ffi.js';
import { isAlive } from '../process/proc-stat.js';
import { reaper } from '../native/reaper.js';
import type { ExitStatus } from '../core/wait-status.js';
import { buildEnv, execCaptured, type ExecOptions, type ExecResult } from '../pod/exec.js';
import { execPlan } from '../pod/plans.js';
import { closeHostProgram, lookUpHostView, openHostProgram } from '../pod/host-view.js';
import type { PortServer } from '../pod/port-server.js';
import { podStatus, type PodRecord, type PodStatus } from '../pod/record.js';
import { notRunning, openPausePidfd, podInfo, refusePod, type PodInfo } from '../pod/info.js';
import { canPod } from '../core/lifecycle.js';

export { notRunning, openPausePidfd, podInfo, type PodInfo } from '../pod/info.js';
export type { PodStatus } from '../pod/record.js';
export type { ExecOptions, ExecResult } from '../pod/exec.js';
import { forgetPodName, readPodRecord, removePodState, writePodRecord } from '../pod/store.js';
import type { PortMapping } from '../net/ports.js';
import { ContainerManager, type RunRequest } from '../container/manager.js';
import type { ContainerRecord } from '../container/record.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';
import { defaultDataRoot, statePaths } from '../state/paths.js';
import type { Container } from './container.js';
import type { RunOptions } from '../container/spec.js';
import { withStateLock } from '../state/lock.js';

const SIGTERM = 15;
const SIGKILL = 9;

export class Pod {
  private exitStatus: Promise<ExitStatus> | undefined;
  private removed = false;
  private pauseExited = false;
  private manager: ContainerManager | null = null;
  /** The builtin forwarder or pasta: kept running, killed with the pause, waited for by stop. */
  private portServer: PortServer | null = null;
  /** Where images are found (set by createPod/getPod: --root, else the data directory). */
  dataRoot: string = defaultDataRoot();

  constructor(
    readonly root: string,
    private rec: PodRecord,
    /** pidfd of the pause when this process supervises the pod. */
    private localPidfd: number | null = null,
  ) {
    if (localPidfd !== null) {
      this.exitStatus = reaper.wait(rec.pause.pid, { keepAlive: false });
      void this.exitStatus.then(() => this.onPauseExit());
    }
  }

  get id(): string {
    return this.rec.id;
  }
  get name(): string {
    return this.rec.name;
  }
  get record(): PodRecord {
    return this.rec;
  }
  get isLocal(): boolean {
    return this.localPidfd !== null;
  }

  status(): PodStatus {
    return podStatus(this.rec);
  }

  info(): PodInfo {
    return podInfo(this.rec, this.root);
  }

  /** Runs a command in the pod to completion and captures its output. */
  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command', 'pass the command and its arguments');
    if (this.pauseExited) throw notRunning(this.rec);
    const env = buildEnv({ HOSTNAME: this.rec.hostname, HOME: '/root' }, opts.env);
    const pidfd = this.localPidfd ?? openPausePidfd(this.rec);
    const hostView = lookUpHostView();
    const execFd = openHostProgram(argv[0]!, hostView);
    try {
      return await execCaptured(opts, (stdio) => execPlan({ pausePidfd: pidfd, argv, env, cwd: opts.cwd ?? '/', stdio: { fds: stdio }, hostView, lockedView: this.rec.mapping === 'root', execFd }));
    } finally {
      closeHostProgram(execFd);
      if (pidfd !== this.localPidfd) closeFd(pidfd);
    }
  }

  /** Stops the pod: SIGTERM to the pause (which takes every process in the pod with it), SIGKILL after the grace period. */
  async stop(opts: { timeoutSeconds?: number } = {}): Promise<void> {
    let timeout = opts.timeoutSeconds ?? 10;
    if (this.localPidfd !== null) return this.stopLocal(await this.preStopHooks(timeout));
    const status = podStatus(this.rec);
    if (!canPod('stop', status)) throw refusePod('stop', this.rec, status);
    if (status === 'running') timeout = await this.preStopHooks(timeout);
    if (status === 'running' && this.rec.supervisor.mode === 'detached') {
      try {
        const { requestKeeper } = await import('../keeper/client.js');
        await requestKeeper(statePaths.podSocket(this.root, this.rec.id), `podstop ${Math.round(timeout * 1000)}`, { timeoutMs: (timeout + 10) * 1000, untilClosed: true });
        await this.waitSupervisorGone();
        return this.markStopped();
      } catch {
        // fall through: the keeper died under us; the pause is signalled directly
      }
    }
    await this.signalAndWait(timeout);
    this.markStopped();
  }

  /**
   * Starts a stopped (exited) detached pod again, as podman's `pod start`:
   * a new pause and keeper with the pod's recorded ports and networks, then
   * every container of it that is not running. A running pod is left as it
   * is. The containers that could not start are named in one error.
   */
  async start(): Promise<void> {
    const state = podStatus(this.rec);
    if (state === 'running') return;
    if (state === 'degraded')
      throw new NsboxError('POD_STATE', `pod ${this.rec.name} is degraded: its pause runs without its keeper`, `stop it first (\`nsbox pod stop ${this.rec.name}\`), then start it`);
    if (this.localPidfd !== null || this.rec.supervisor.mode !== 'detached')
      throw new NsboxError('POD_STATE', `pod ${this.rec.name} was run by the process that created it, which is gone`, 'create it again; only detached pods (the CLI\'s) can be started again');
    const { startPodAgain } = await import('./create-pod.js');
    this.rec = (await startPodAgain(this.root, this.rec)).record;
    this.pauseExited = false;
    await this.startContainers();
  }

  /**
   * Restarts the pod's containers (podman's `pod restart`): each running one
   * is stopped and all are started again; the pause and its namespaces stay.
   * An exited pod is started.
   */
  async restart(opts: { timeoutSeconds?: number } = {}): Promise<void> {
    if (podStatus(this.rec) !== 'running') return this.start();
    const { listContainerRecords } = await import('../container/list.js');
    for (const c of listContainerRecords(this.root, this.rec.id).filter((r) => r.podId === this.rec.id)) await this.stopContainer(c.name, opts.timeoutSeconds ?? 10);
    await this.startContainers();
  }

  private async startContainers(): Promise<void> {
    const { listContainerRecords } = await import('../container/list.js');
    const failed: string[] = [];
    for (const c of listContainerRecords(this.root, this.rec.id).filter((r) => r.podId === this.rec.id && r.state !== 'running')) {
      try {
        await this.restartExited(c.name);
      } catch (err) {
        failed.push(`${c.name} (${err instanceof NsboxError ? err.oneLine() : String(err)})`);
      }
    }
    if (failed.length)
      throw new NsboxError('START_FAILED', `pod ${this.rec.name} runs, but ${failed.length === 1 ? 'a container' : 'containers'} did not start: ${failed.join('; ')}`, `see \`nsbox logs ${this.rec.name}/NAME\``);
  }

  /** Removes the pod's state; with force, stops it first. */
  async remove(opts: { force?: boolean; timeoutSeconds?: number } = {}): Promise<void> {
    if (this.removed) return;
    const state = podStatus(this.rec);
    if (!canPod('remove', state)) {
      if (!opts.force) throw refusePod('remove', this.rec, state);
      await this.stop({ timeoutSeconds: opts.timeoutSeconds ?? 0 }).catch((err: unknown) => {
        if (!(err instanceof NsboxError && err.code === 'POD_NOT_RUNNING')) throw err;
      });
    }
    await withStateLock(this.root, async () => {
      await removeTreeAsOwner(statePaths.podDir(this.root, this.rec.id));
      forgetPodName(this.root, this.rec);
    });
    this.removed = true;
    if (this.localPidfd !== null) forgetLocalPod(this);
  }

  /**
   * The containers of a pod this process supervises. keepAlive: whether
   * running containers keep this process alive (the supervisor) or not.
   */
  containerManager(keepAlive = false): ContainerManager {
    if (this.localPidfd === null) throw new NsboxError('NOT_LOCAL', `pod ${this.rec.name} is not supervised by this process`);
    this.manager ??= new ContainerManager(this.root, this.rec, () => this.localPidfd!, keepAlive, async (name) => {
      const [{ runHealthCheck }, { Container }] = await Promise.all([import('./health.js'), import('./container.js')]);
      return runHealthCheck(new Container(this, name));
    });
    return this.manager;
  }

  /**
   * Runs a container from an image (name, id, or a path to a tarball or
   * image archive, imported first) and returns once its process started.
   */
  async run(image: string, opts: RunOptions = {}): Promise<Container> {
    const { resolveImage, buildRunRequest } = await import('../container/run.js');
    const { Container } = await import('./container.js');
    const record = await this.startContainer(buildRunRequest(await resolveImage(image, this.dataRoot), opts));
    return new Container(this, record.name);
  }

  /**
   * Creates a container without starting it (docker's create): attach to it
   * first, then `start()` it, and nothing of its output is missed.
   */
  async create(image: string, opts: RunOptions = {}): Promise<Container> {
    const { resolveImage, buildRunRequest } = await import('../container/run.js');
    const { Container } = await import('./container.js');
    const record = await this.startContainer(buildRunRequest(await resolveImage(image, this.dataRoot), opts), { createOnly: true });
    return new Container(this, record.name);
  }

  /** A handle on one of this pod's containers. */
  async container(name: string): Promise<Container> {
    const { Container } = await import('./container.js');
    const c = new Container(this, name);
    c.record();
    return c;
  }

  /** Starts a container (resolved request) in this pod. */
  async startContainer(request: RunRequest, opts: { createOnly?: boolean } = {}): Promise<ContainerRecord> {
    if (this.pauseExited || !canPod('run', podStatus(this.rec))) throw notRunning(this.rec);
    if (this.localPidfd !== null && (request.openStdin || request.tty || opts.createOnly))
      throw new NsboxError('NOT_DETACHED', `${opts.createOnly ? 'create' : 'openStdin and tty'} need a detached pod: pod ${this.rec.name} is run by this process`, 'create the pod with `detached: true` (the CLI does)');
    const req = await withVolumes(request);
    if (this.localPidfd !== null) return this.containerManager().run(req);
    return (await this.keeper()).run(req, !!opts.createOnly);
  }

  /** Runs an exited container of this pod again. */
  async restartExited(name: string): Promise<ContainerRecord> {
    if (this.pauseExited || !canPod('run', podStatus(this.rec))) throw notRunning(this.rec);
    if (this.localPidfd !== null) return this.containerManager().startAgain(name);
    return (await this.keeper()).startAgain(name);
  }

  async stopContainer(name: string, timeoutSeconds: number): Promise<ContainerRecord> {
    const [{ runPreStop }, { Container }] = await Promise.all([import('./pre-stop.js'), import('./container.js')]);
    const left = await runPreStop(new Container(this, name), timeoutSeconds);
    if (this.localPidfd !== null) return this.containerManager().stop(name, left);
    return (await this.keeper()).stop(name, left);
  }

  /** The preStop hooks of the running containers, before the pod stops; resolves with the grace left. */
  private async preStopHooks(timeoutSeconds: number): Promise<number> {
    if (timeoutSeconds <= 0) return timeoutSeconds;
    const { listContainerRecords } = await import('../container/list.js');
    const records = listContainerRecords(this.root, this.rec.id).filter((r) => r.podId === this.rec.id && r.preStop);
    if (!records.length) return timeoutSeconds;
    const [{ runPodPreStops }, { Container }] = await Promise.all([import('./pre-stop.js'), import('./container.js')]);
    return runPodPreStops(records.map((record) => ({ container: new Container(this, record.name), record })), timeoutSeconds);
  }

  async removeContainer(name: string, force: boolean): Promise<void> {
    if (this.localPidfd !== null) return this.containerManager().remove(name, force);
    if (podStatus(this.rec) === 'running') return (await this.keeper()).remove(name, force);
    // The pod is gone, and every process in it: only the files are left.
    await removeTreeAsOwner(join(statePaths.podDir(this.root, this.rec.id), 'containers', name));
  }

  async waitContainer(name: string): Promise<ContainerRecord> {
    if (this.localPidfd !== null) return this.containerManager().wait(name);
    return (await this.keeper()).wait(name);
  }

  /**
   * Publishes more ports (-p syntax) on this running detached pod, each
   * served by its keeper until the pod goes; returns them as bound.
   */
  async publish(specs: string[]): Promise<PortMapping[]> {
    const { publishOnRunningPod } = await import('./publish.js');
    const bound = await publishOnRunningPod(this.root, this.rec.id, specs);
    this.rec = readPodRecord(this.root, this.rec.id) ?? this.rec;
    return bound;
  }

  /** Resolves once a detached pod's keeper answers. */
  async ping(): Promise<void> {
    if (this.localPidfd !== null) return;
    if (podStatus(this.rec) !== 'running') throw notRunning(this.rec);
    const { requestKeeper } = await import('../keeper/client.js');
    await requestKeeper(statePaths.podSocket(this.root, this.rec.id), 'ping', { timeoutMs: 15_000 });
  }

  /** The containers of a detached pod, through its keeper. */
  private async keeper() {
    if (podStatus(this.rec) !== 'running') throw notRunning(this.rec);
    const { KeeperContainers } = await import('../keeper/containers.js');
    return new KeeperContainers(this.root, this.rec, this.dataRoot);
  }

  /** Resolves once the port server (forwarder or pasta) has exited, so the host ports are closed. */
  async portServerGone(): Promise<void> {
    await this.portServer?.gone();
  }

  /** Waits for the pause to exit (local pods only). */
  async waitExit(): Promise<ExitStatus> {
    if (!this.exitStatus) throw new NsboxError('NOT_LOCAL', `pod ${this.rec.name} is not supervised by this process`);
    return this.exitStatus;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true });
  }

  private async stopLocal(timeout: number): Promise<void> {
    if (this.manager) await this.manager.stopAll(timeout);
    if (this.pauseExited || !isAlive(this.rec.pause)) {
      await this.exitStatus;
      await this.portServerGone();
      if (this.rec.stoppedAt) return;
      throw refusePod('stop', this.rec, 'exited');
    }
    pidfdSendSignal(this.localPidfd!, SIGTERM);
    const killer = setTimeout(() => pidfdSendSignal(this.localPidfd!, SIGKILL), timeout * 1000);
    // Keep the event loop alive until the pause is reaped (the pod's own
    // waiter does not, so that an idle pod never holds its creator open).
    await reaper.wait(this.rec.pause.pid);
    clearTimeout(killer);
    await this.portServerGone();
    this.markStopped();
  }

  private async signalAndWait(timeout: number): Promise<void> {
    let fd: number;
    try {
      fd = openPausePidfd(this.rec);
    } catch {
      return; // already gone
    }
    try {
      pidfdSendSignal(fd, timeout > 0 ? SIGTERM : SIGKILL);
      const deadline = Date.now() + timeout * 1000;
      while (isAlive(this.rec.pause)) {
        if (Date.now() > deadline) pidfdSendSignal(fd, SIGKILL);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      closeFd(fd);
    }
  }

  /** The keeper exits right after the pause; stop returns only then. */
  private async waitSupervisorGone(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (isAlive(this.rec.supervisor) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  }

  private markStopped(): void {
    if (this.removed || this.rec.stoppedAt) return;
    this.rec = { ...this.rec, stoppedAt: new Date().toISOString() };
    try {
      if (readPodRecord(this.root, this.rec.id)) writePodRecord(this.root, this.rec);
    } catch {
      // state removed under us: nothing to record
    }
  }

  /** The port server (the builtin forwarder, or pasta) of a pod this process supervises: it goes with the pause. */
  attachPortServer(server: PortServer): void {
    this.portServer = server;
    if (this.pauseExited) server.close();
  }

  private onPauseExit(): void {
    this.pauseExited = true;
    // The host ports close with the pod, not when the forwarder notices.
    this.portServer?.close();
    this.manager?.markAllExited();
    if (this.localPidfd !== null) closeFd(this.localPidfd);
  }
}

// Library pods die with this process (the pause has PDEATHSIG) and their
// state goes with them, so a crashed test run leaves nothing behind.
const localPods = new Set<Pod>();
let exitHookInstalled = false;

export function rememberLocalPod(pod: Pod): void {
  localPods.add(pod);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of localPods) {
      if (isAlive(p.record.pause)) process.kill(p.record.pause.pid, SIGKILL);
      // Container files may belong to subordinate ids, which only a user
      // namespace can delete: such pods are collected by the next create.
      if (p.record.autoRemove && !existsSync(join(statePaths.podDir(p.root, p.id), 'containers'))) removePodState(p.root, p.id);
    }
  });
}

export function forgetLocalPod(pod: Pod): void {
  localPods.delete(pod);
}

/** Named volumes made, fitted on first use, and pointed at (container/volume-attach.ts). */
async function withVolumes(req: RunRequest): Promise<RunRequest> {
  if (!req.mounts?.some((m) => m.type === 'volume')) return req;
  const { attachVolumes } = await import('../container/volume-attach.js');
  return { ...req, mounts: await attachVolumes({ dataRoot: req.image.dataRoot, mounts: req.mounts, user: req.user, layerDirs: req.image.layerDirs }) };
}
