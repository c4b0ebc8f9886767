// The containers of a detached pod, driven from any process (the CLI, a
// library user): this side decides and builds the plans; the pod's keeper
// runs them, stays their parent, and writes their state.json.
import { mkdirSync, rmSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { removeTreeAsOwner } from '../idmap/remove-tree.js';
import { requireMappedIds } from '../idmap/mapped-ids.js';
import { errnoName } from '../core/errno.js';
import type { SpawnPlan } from '../native/plan.js';
import { spawnFailure } from '../native/spawn.js';
import type { PodRecord } from '../pod/record.js';
import { isAlive } from '../process/proc-stat.js';
import { withStateLock } from '../state/lock.js';
import { statePaths } from '../state/paths.js';
import { can, reduceContainerState, stopIsNoop } from '../core/lifecycle.js';
import { containerPaths, containersDir, prepareContainerDir, type ContainerPaths } from '../container/files.js';
import type { RunRequest } from '../container/manager.js';
import { refuse, type ContainerRecord } from '../container/record.js';
import { newContainerRecord, readContainerRecord, specOf, writeContainerSpec } from '../container/record-store.js';
import { ensureRootfsCopy, overlayRefused, startFailure, startPlan } from '../container/start-plan.js';
import { okWords, requestKeeper } from './client.js';
import { oneLine } from './frames.js';
import { keeperSlots } from './slots.js';

const SIGTERM = 15;
const FOREVER_MS = 2 ** 31 - 1;

/** How many host listeners the keeper was given: pasta binds the ports itself. */
export function keeperListenerCount(pod: Pick<PodRecord, 'network' | 'ports' | 'keeperListeners'>): number {
  return pod.keeperListeners ?? (pod.network === 'pasta' ? 0 : (pod.ports ?? []).length);
}

/** What the keeper gives the container as stdin: /dev/null, a pipe it keeps the write end of, or a terminal it keeps the master of. */
export const STDIO_MODE = { null: 0, pipe: 1, tty: 2 } as const;

export function stdioMode(r: Pick<ContainerRecord, 'openStdin' | 'tty'>): number {
  return r.tty ? STDIO_MODE.tty : r.openStdin ? STDIO_MODE.pipe : STDIO_MODE.null;
}

/** A terminal starts at docker's size until an attacher says its own. */
const TTY_SIZE = { rows: 24, cols: 80 };

function restartWords(r: ContainerRecord, createOnly: boolean): string {
  const p = r.restart;
  const policy = p.policy === 'always' ? 1 : p.policy === 'on-failure' ? 2 : 0;
  const maxRetries = p.policy === 'on-failure' && p.maxRetries !== null ? p.maxRetries : -1;
  return `${policy} ${maxRetries} ${r.stopSignal ?? SIGTERM} ${r.logMaxSize ?? 0} ${stdioMode(r)} ${createOnly ? 1 : 0}`;
}

export class KeeperContainers {
  constructor(
    private readonly root: string,
    private readonly pod: PodRecord,
    /** Where the pod's images are (layers are found from the record's digests). */
    private readonly dataRoot: string,
  ) {}

  private get socket(): string {
    return statePaths.podSocket(this.root, this.pod.id);
  }

  private paths(name: string): ContainerPaths {
    return containerPaths(this.root, this.pod.id, name);
  }

  private noSuch(name: string): NsboxError {
    return new NsboxError('NO_SUCH_CONTAINER', `no such container: ${this.pod.name}/${name}`, `list containers with \`nsbox ps -a --pod ${this.pod.name}\``);
  }

  private read(name: string): ContainerRecord {
    const r = readContainerRecord(this.paths(name));
    if (!r) throw this.noSuch(name);
    return r;
  }

  private state(r: ContainerRecord) {
    return reduceContainerState(r.state, { processAlive: isAlive(r.process), podRunning: isAlive(this.pod.pause) });
  }

  private plan(r: ContainerRecord, layerDirs: string[]): SpawnPlan {
    const slots = keeperSlots(keeperListenerCount(this.pod));
    const { stdin, ...fds } = slots;
    const io = r.tty ? { terminal: { socketFd: stdin, ...(r.ttySize ?? TTY_SIZE) } } : r.openStdin ? { stdin } : {};
    return startPlan(r, this.paths(r.name), layerDirs, this.pod.mapping, { ...fds, ...io });
  }

  /**
   * Sends the plan; on a start that failed, falls back to a copy of the
   * image when overlayfs is refused, else has the keeper record the failure
   * (it writes the log and state.json: one writer each).
   */
  private async startWith(verb: 'run' | 'create' | 'start', r: ContainerRecord, image: { dataRoot: string; id: string; layers: string[]; layerDirs: string[] }): Promise<ContainerRecord> {
    const paths = this.paths(r.name);
    if (r.rootfs === 'copy') await ensureRootfsCopy(paths, image);
    const plan = this.plan(r, image.layerDirs);
    const line = verb === 'start' ? `start ${r.name}` : `run ${r.name} ${restartWords(r, verb === 'create')}`;
    const { encodePlan } = await import('../native/plan.js');
    let answer = await requestKeeper(this.socket, line, { data: encodePlan(plan) });
    // A pod started again (`pod start`) has a new keeper that has not met its containers: it takes each as a new run.
    if (verb === 'start' && answer === 'err no such container') answer = await requestKeeper(this.socket, `run ${r.name} ${restartWords(r, false)}`, { data: encodePlan(plan) });
    if (answer.startsWith('ok ')) return this.read(r.name);
    if (answer.startsWith('err protocol')) okWords(answer, verb); // throws: a keeper of another nsbox
    if (!answer.startsWith('spawnerr ')) {
      const failure = new NsboxError('RUN_FAILED', `cannot start ${this.pod.name}/${r.name}: ${answer.replace(/^err /, '')}`, 'check the pod with `nsbox pod ls`; a pod that is stopping takes no new container');
      if (verb !== 'start') await this.record(r.name, 'failed', `125 ${oneLine(failure.message)}`);
      throw failure;
    }
    const [section, step, err] = answer.split(' ').slice(1).map(Number) as [number, number, number];
    const e = spawnFailure(plan, { rc: -err, pid: 0, section, step, err, detail: 0, middleStatus: 0, middlePid: 0, middleExecd: false });
    if (overlayRefused(r, e)) {
      // No overlayfs for us here: copy the layers and try once more.
      await this.record(r.name, 'note', `overlayfs unavailable (${errnoName(e.errno)}); using a copy of the image`);
      r.rootfs = 'copy';
      writeContainerSpec(paths, specOf(r));
      return this.startWith('start', r, image);
    }
    const { code, message } = startFailure(r, e);
    await this.record(r.name, 'failed', `${code} ${oneLine(message)}`);
    return this.read(r.name);
  }

  private async record(name: string, verb: 'failed' | 'note', text: string): Promise<void> {
    okWords(await requestKeeper(this.socket, `${verb} ${name} ${text}`), verb);
  }

  /** createOnly: docker's create; it starts with `startAgain`, so attachers can come first. */
  async run(req: RunRequest, createOnly = false): Promise<ContainerRecord> {
    requireMappedIds(req.user, this.pod.pause.pid, this.pod.name);
    const paths = this.paths(req.name);
    const record = newContainerRecord(req, this.pod);
    // The directory is the claim on the name: made by exactly one creator.
    await withStateLock(this.root, () => {
      mkdirSync(containersDir(this.root, this.pod.id), { recursive: true, mode: 0o700 });
      try {
        mkdirSync(paths.dir, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new NsboxError('DUPLICATE_NAME', `a container named ${req.name} already exists in pod ${this.pod.name}`, `choose another name or remove it with \`nsbox rm -f ${this.pod.name}/${req.name}\``);
      }
      try {
        prepareContainerDir(paths, this.pod.hostname, req.seccompProgram);
        writeContainerSpec(paths, specOf(record));
      } catch (err) {
        rmSync(paths.dir, { recursive: true, force: true }); // only our own files yet: the name is free again
        throw err;
      }
    });
    try {
      const started = await this.startWith(createOnly ? 'create' : 'run', record, req.image);
      if (record.autoRemove) await this.removeOnExit(record);
      if (record.healthcheck) await this.checkHealthEvery(record, record.healthcheck.intervalMs);
      return started;
    } catch (err) {
      // Not known to the keeper: nothing of it may stay behind.
      if (err instanceof NsboxError && (err.code === 'KEEPER_UNREACHABLE' || err.code === 'KEEPER_TIMEOUT')) await removeTreeAsOwner(paths.dir).catch(() => {});
      throw err;
    }
  }

  /** --rm: the keeper runs `nsbox rm -f` of it once it has exited for good. */
  private async removeOnExit(r: ContainerRecord): Promise<void> {
    const { artifacts } = await import('../native/artifacts.js');
    const ref = this.pod.ownedBy === r.name ? r.name : `${this.pod.name}/${r.name}`;
    const argv = [process.execPath, artifacts.cli, '--root', this.root, 'rm', '-f', '-v', ref];
    okWords(await requestKeeper(this.socket, `onexit ${r.name}`, { data: Buffer.from(argv.map((a) => `${a}\0`).join('')) }), 'onexit');
  }

  /** Health checks: the keeper runs `nsbox healthcheck run` of it every interval while it runs (podman's timer does the same). */
  private async checkHealthEvery(r: ContainerRecord, intervalMs: number): Promise<void> {
    const { artifacts } = await import('../native/artifacts.js');
    const ref = this.pod.ownedBy === r.name ? r.name : `${this.pod.name}/${r.name}`;
    const argv = [process.execPath, artifacts.cli, '--root', this.root, 'healthcheck', 'run', ref];
    okWords(await requestKeeper(this.socket, `every ${r.name} ${intervalMs}`, { data: Buffer.from(argv.map((a) => `${a}\0`).join('')) }), 'every');
  }

  async startAgain(name: string): Promise<ContainerRecord> {
    const r = this.read(name);
    const state = this.state(r);
    if (!can('start', state)) throw refuse(r, 'start', state);
    const { layerDirs } = await import('../image/store.js');
    return this.startWith('start', r, { dataRoot: this.dataRoot, id: r.image.id, layers: r.image.layers, layerDirs: layerDirs(this.dataRoot, r.image) });
  }

  async stop(name: string, timeoutSeconds: number): Promise<ContainerRecord> {
    const r = this.read(name);
    if (stopIsNoop(r.state)) return r;
    okWords(await requestKeeper(this.socket, `stop ${name} ${Math.round(timeoutSeconds * 1000)}`, { timeoutMs: (timeoutSeconds + 10) * 1000 }), 'stop');
    return this.read(name);
  }

  async wait(name: string): Promise<ContainerRecord> {
    this.read(name);
    okWords(await requestKeeper(this.socket, `wait ${name}`, { timeoutMs: FOREVER_MS }), 'wait');
    return this.read(name);
  }

  async remove(name: string, force: boolean): Promise<void> {
    const r = this.read(name);
    const state = this.state(r);
    if (!can('remove', state)) {
      if (!force) throw refuse(r, 'remove', state);
      await this.stop(name, 0);
    }
    const answer = await requestKeeper(this.socket, `rm ${name}`);
    // One the keeper never started (its run failed before it got there) has only files.
    if (answer !== 'ok' && answer !== 'err no such container') okWords(answer, 'rm');
    await removeTreeAsOwner(this.paths(name).dir);
  }
}
