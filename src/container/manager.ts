// Runs a pod's containers and keeps their records: the parent of every
// container process (in the supervisor, or in a library user's process),
// it captures their output into logs, records exits, restarts by policy and
// stops them in order.
import { existsSync, readdirSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';
import { errnoName } from '../core/errno.js';
import { closeFd, pidfdOpen, pidfdSendSignal, pipe } from '../native/ffi.js';
import { runPlan } from '../native/spawn.js';
import type { PodRecord } from '../pod/record.js';
import { identify, isAlive } from '../process/proc-stat.js';
import { killMountNamespace, namespaceChannel, type HeldNamespace } from '../process/mount-namespace.js';
import { requireMappedIds } from '../idmap/mapped-ids.js';
import { reaper } from '../native/reaper.js';
import { shellExitCode } from '../core/wait-status.js';
import { newContainerRecord, readContainerRecord, specOf, statusOf, writeContainerSpec, writeContainerStatus } from './record-store.js';
import { containerPaths, containersDir, prepareContainerDir, type ContainerPaths } from './files.js';
import { LogWriter } from './logs.js';
import { ensureRootfsCopy, overlayRefused, startFailure, startPlan } from './start-plan.js';
import { refuse, type ContainerRecord } from './record.js';
import { can, stopIsNoop } from '../core/lifecycle.js';

const SIGTERM = 15;
const SIGKILL = 9;
const MAX_BACKOFF_MS = 10_000;

/** Everything the supervisor needs to start a container (resolved by the caller). */
/** run -i/-t in the foreground: the caller's ends, for the first start only (a library pod's container). */
export interface Attach {
  /** An fd of this process the container reads as its stdin. */
  stdin?: number;
  /** A socket of this process on which its terminal's master is sent (run -t). */
  terminal?: { socketFd: number; rows: number; cols: number };
}

export interface RunRequest extends Pick<ContainerRecord, 'name' | 'argv' | 'env' | 'workdir' | 'user' | 'restart' | 'readOnly' | 'capabilities' | 'stopSignal' | 'logMaxSize' | 'mounts' | 'autoRemove' | 'labels' | 'healthcheck' | 'preStop' | 'pidNamespace' | 'seccomp' | 'securityOpt' | 'mask' | 'unmask' | 'openStdin' | 'tty' | 'stdinOnce' | 'ttySize'> {
  image: ContainerRecord['image'] & { layerDirs: string[]; dataRoot: string };
  /** Only where this process is the container's parent (a library pod). */
  attach?: Attach;
  /** The compiled seccomp program (null: unconfined), written into the container's directory. */
  seccompProgram?: Buffer | null;
}

interface Live {
  record: ContainerRecord;
  paths: ContainerPaths;
  pidfd: number;
  /** The container's mount namespace: every process of it, orphans included, is in it. */
  mountNs: HeldNamespace | null;
  exited: Promise<void>;
  stopRequested: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** Health checks every interval while it runs. */
  healthTimer: NodeJS.Timeout | null;
  settled: Promise<void>;
  settle: () => void;
  /** What `start` needs to run it again. */
  image: RunRequest['image'];
}

function settlement(): { settled: Promise<void>; settle: () => void } {
  let settle!: () => void;
  const settled = new Promise<void>((r) => (settle = r));
  return { settled, settle };
}

export class ContainerManager {
  private live = new Map<string, Live>();

  constructor(
    private readonly root: string,
    private readonly pod: PodRecord,
    private readonly pausePidfd: () => number,
    /** Keep this process alive while containers run (the supervisor), or not (a library user). */
    private readonly keepAlive: boolean,
    /** One health check of the named container (api/health.ts: policy the container layer does not own). */
    private readonly checkHealth: ((name: string) => Promise<unknown>) | null = null,
  ) {}

  /** Every interval while the container runs, one check at a time (a slow one is not stacked), as the keeper does. */
  private scheduleHealth(live: Live): void {
    const cfg = live.record.healthcheck;
    if (!cfg || !this.checkHealth) return;
    let busy = false;
    live.healthTimer = setInterval(() => {
      if (busy || live.record.state !== 'running') return;
      busy = true;
      void this.checkHealth!(live.record.name)
        .catch(() => {})
        .finally(() => (busy = false));
    }, cfg.intervalMs);
    if (!this.keepAlive) live.healthTimer.unref();
  }

  private stopHealth(live: Live): void {
    if (live.healthTimer) clearInterval(live.healthTimer);
    live.healthTimer = null;
  }

  paths(name: string): ContainerPaths {
    return containerPaths(this.root, this.pod.id, name);
  }

  read(name: string): ContainerRecord | null {
    return this.live.get(name)?.record ?? readContainerRecord(this.paths(name));
  }

  list(): ContainerRecord[] {
    let names: string[] = [];
    try {
      names = readdirSync(containersDir(this.root, this.pod.id));
    } catch {
      return [];
    }
    return names.map((n) => this.read(n)).filter((r): r is ContainerRecord => !!r);
  }

  async run(req: RunRequest): Promise<ContainerRecord> {
    if (existsSync(this.paths(req.name).dir))
      throw new NsboxError('DUPLICATE_NAME', `a container named ${req.name} already exists in pod ${this.pod.name}`, `choose another name or remove it with \`nsbox rm -f ${this.pod.name}/${req.name}\``);
    requireMappedIds(req.user, this.pod.pause.pid, this.pod.name);
    const paths = this.paths(req.name);
    prepareContainerDir(paths, this.pod.hostname, req.seccompProgram);
    const record = newContainerRecord(req, this.pod);
    const live: Live = { record, paths, pidfd: -1, mountNs: null, exited: Promise.resolve(), stopRequested: false, restartTimer: null, healthTimer: null, ...settlement(), image: req.image };
    this.live.set(req.name, live);
    writeContainerSpec(live.paths, specOf(record));
    this.save(live);
    await this.start(live, req.image, req.attach);
    return live.record;
  }

  /** Its state.json: this process is the container's parent, so the one writer of that file. */
  private save(live: Live): void {
    writeContainerStatus(live.paths, statusOf(live.record));
  }

  private async start(live: Live, image: RunRequest['image'], attach?: Attach): Promise<void> {
    const r = live.record;
    if (r.rootfs === 'copy') await ensureRootfsCopy(live.paths, image);
    const log = new LogWriter(live.paths.log, r.logMaxSize ?? 0);
    const out = pipe();
    const err = pipe();
    if (out.rc < 0 || err.rc < 0) {
      for (const p of [out, err]) if (p.rc === 0) (closeFd(p.read), closeFd(p.write));
      await log.close();
      return this.finish(live, 125, `cannot create pipes for the container (${errnoName(-(out.rc < 0 ? out.rc : err.rc))}): too many open files? raise \`ulimit -n\``);
    }
    const nsChannel = namespaceChannel();
    let pid: number;
    try {
      pid = await runPlan(startPlan(r, live.paths, image.layerDirs, this.pod.mapping, { pausePidfd: this.pausePidfd(), stdout: out.write, stderr: err.write, namespaceSocket: nsChannel.theirs, ...attach }));
    } catch (e) {
      nsChannel.close();
      for (const fd of [out.read, out.write, err.read, err.write]) closeFd(fd);
      if (overlayRefused(r, e)) {
        // No overlayfs for us here: copy the layers and try once more.
        log.write('e', `nsbox: overlayfs unavailable (${e.errnoName}); using a copy of the image\n`);
        await log.close();
        r.rootfs = 'copy';
        writeContainerSpec(live.paths, specOf(r));
        return this.start(live, image, attach);
      }
      const { code, message } = startFailure(r, e);
      log.write('e', `nsbox: ${message}\n`);
      await log.close();
      this.finish(live, code, message);
      return;
    }
    closeFd(out.write);
    closeFd(err.write);
    live.pidfd = pidfdOpen(pid);
    // Sent by the process before its first setup step: there even if it already exited.
    live.mountNs = nsChannel.receive();
    r.state = live.stopRequested ? 'stopping' : 'running';
    r.process = identify(pid);
    r.startedAt = new Date().toISOString();
    r.finishedAt = null;
    r.exitCode = null;
    r.error = null;
    this.save(live);
    this.scheduleHealth(live);
    const { Socket } = await import('node:net');
    const sockets = [new Socket({ fd: out.read, readable: true, writable: false }), new Socket({ fd: err.read, readable: true, writable: false })];
    if (!this.keepAlive) for (const s of sockets) s.unref();
    const drained = Promise.all([log.attach(sockets[0]!, 'o'), log.attach(sockets[1]!, 'e')]);
    live.exited = (async () => {
      const status = await reaper.wait(pid, { keepAlive: this.keepAlive });
      // The container has ended: so have its orphans and its exec'd processes (as runc kills its cgroup).
      if (live.mountNs) await killMountNamespace(live.mountNs);
      live.mountNs = null;
      // Output written just before exit is still in the pipes, and on a
      // loaded machine the event loop may take a while to read it (200 ms
      // lost a last line). Its orphans are dead by now, so EOF comes; only
      // a process outside its mount namespace could hold the pipes, so do
      // not wait for that forever.
      await Promise.race([drained, new Promise((res) => setTimeout(res, 2000).unref())]);
      for (const s of sockets) s.destroy();
      await log.close();
      closeFd(live.pidfd);
      live.pidfd = -1;
      this.stopHealth(live);
      this.afterExit(live, shellExitCode(status), image);
    })();
  }

  private finish(live: Live, exitCode: number, error: string | null): void {
    const r = live.record;
    r.state = 'exited';
    r.exitCode = exitCode;
    r.error = error;
    r.finishedAt = new Date().toISOString();
    r.process = null;
    this.save(live);
    live.settle();
    // --rm: gone once it has exited for good (unless its pod went first).
    if (r.autoRemove && !this.podGone)
      setImmediate(() =>
        void this.remove(r.name, true)
          .then(async () => (await import('../volume/anonymous.js')).removeAnonymousVolumes(r.mounts))
          .catch(() => {}),
      );
  }

  private afterExit(live: Live, exitCode: number, image: RunRequest['image']): void {
    const r = live.record;
    const p = r.restart;
    const again =
      !live.stopRequested &&
      (p.policy === 'always' || (p.policy === 'on-failure' && exitCode !== 0 && (p.maxRetries === null || r.restartCount < p.maxRetries)));
    if (!again) return this.finish(live, exitCode, null);
    r.exitCode = exitCode;
    r.finishedAt = new Date().toISOString();
    r.restartCount += 1;
    r.process = null;
    r.state = 'restarting';
    this.save(live);
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(r.restartCount - 1, 10));
    live.restartTimer = setTimeout(() => {
      live.restartTimer = null;
      if (live.stopRequested) return this.finish(live, exitCode, null);
      void this.start(live, image);
    }, delay);
    if (!this.keepAlive) live.restartTimer.unref();
  }

  private liveOrThrow(name: string): Live {
    const live = this.live.get(name);
    if (!live) throw new NsboxError('NO_SUCH_CONTAINER', `no such container: ${this.pod.name}/${name}`, `list containers with \`nsbox ps -a --pod ${this.pod.name}\``);
    return live;
  }

  /**
   * Its stop signal (SIGTERM unless the image or --stop-signal says
   * otherwise), then SIGKILL after the grace period; no restart afterwards.
   * A container that is not running is left as it is (podman, docker).
   */
  async stop(name: string, timeoutSeconds: number): Promise<ContainerRecord> {
    const live = this.liveOrThrow(name);
    const r = live.record;
    if (stopIsNoop(r.state)) return r;
    if (!can('stop', r.state)) throw refuse(r, 'stop');
    live.stopRequested = true;
    if (live.restartTimer) {
      clearTimeout(live.restartTimer);
      live.restartTimer = null;
      this.finish(live, r.exitCode ?? 0, null);
      return r;
    }
    r.state = 'stopping';
    this.save(live);
    if (live.pidfd >= 0) pidfdSendSignal(live.pidfd, timeoutSeconds > 0 ? (r.stopSignal ?? SIGTERM) : SIGKILL);
    const killer = setTimeout(() => live.pidfd >= 0 && pidfdSendSignal(live.pidfd, SIGKILL), timeoutSeconds * 1000);
    await holdingProcess(live.settled);
    clearTimeout(killer);
    return r;
  }

  /** Runs an exited container again, as it was (same rootfs, command, policy). */
  async startAgain(name: string): Promise<ContainerRecord> {
    const live = this.liveOrThrow(name);
    const r = live.record;
    if (!can('start', r.state)) throw refuse(r, 'start');
    Object.assign(live, { stopRequested: false, ...settlement() });
    await this.start(live, live.image);
    return live.record;
  }

  async wait(name: string): Promise<ContainerRecord> {
    const live = this.liveOrThrow(name);
    await holdingProcess(live.settled);
    return live.record;
  }

  async remove(name: string, force: boolean): Promise<void> {
    const live = this.live.get(name);
    const r = live?.record ?? this.read(name);
    if (!r) throw new NsboxError('NO_SUCH_CONTAINER', `no such container: ${this.pod.name}/${name}`, `list containers with \`nsbox ps -a --pod ${this.pod.name}\``);
    if (live && !can('remove', r.state)) {
      if (!force) throw refuse(r, 'remove');
      await this.stop(name, 0);
    }
    this.live.delete(name);
    await removeTreeAsOwner(this.paths(name).dir);
  }

  /** Stops every container (SIGTERM, grace, SIGKILL), in parallel. */
  async stopAll(timeoutSeconds: number): Promise<void> {
    await Promise.all(
      [...this.live.values()].filter((l) => can('stop', l.record.state)).map((l) => this.stop(l.record.name, timeoutSeconds).catch(() => {})),
    );
  }

  private podGone = false;

  /** Records containers as exited after the pod died under them. */
  markAllExited(): void {
    this.podGone = true;
    for (const live of this.live.values()) {
      if (live.record.state !== 'exited') {
        const waitingToRestart = !!live.restartTimer;
        if (live.restartTimer) clearTimeout(live.restartTimer);
        live.restartTimer = null;
        live.stopRequested = true;
        if (waitingToRestart || (live.record.process && !isAlive(live.record.process))) this.finish(live, live.record.exitCode ?? 137, null);
      }
    }
  }
}

/** Awaits p while keeping this process alive, even where containers do not. */
async function holdingProcess<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => {}, 1 << 30);
  try {
    return await p;
  } finally {
    clearInterval(hold);
  }
}
