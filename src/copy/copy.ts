// `nsbox cp`, the host's side: starts worker.js as root of a user
// namespace with the pod's mapping, hands it the container's root, and
// streams tar to or from it. A running container's root is its main
// process's /proc/PID/root (this process may open it: the pod's user
// namespace is ours); a stopped one's is its overlay, mounted in the
// worker's own mount namespace (or its copied rootfs). Host paths are the
// user's own and are opened as the user.
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { spawnInUserns } from '../idmap/userns-process.js';
import { artifacts, requireArtifact } from '../native/artifacts.js';
import { closeFd, pipe } from '../native/ffi.js';
import { isAlive } from '../process/proc-stat.js';
import type { ChildStep } from '../native/plan.js';
import type { ContainerPaths } from '../container/files.js';
import type { ContainerRecord } from '../container/record.js';
import { overlayOptions } from '../container/plans.js';
import { isContentsOnly, O_PATH, placeOnto, splitPath, type PathOpener } from './place.js';
import { packAt, packBytes, unpackTree } from './tree.js';
import type { CopyJob } from './worker.js';
import type { PathStat } from './stat.js';

const workerScript = join(artifacts.packageRoot, 'dist', 'copy', 'worker.js');

export interface CopySubject {
  record: ContainerRecord;
  /** The state it is in now (a dead process makes a "running" record exited). */
  state: string;
  paths: ContainerPaths;
  layerDirs: string[];
  ref: string;
}

export type CopySource = { hostPath: string } | { tar: Readable } | { bytes: Buffer; mode?: number };
export type CopySink = { hostPath: string } | { tar: Writable };

function openPipe(): { read: number; write: number } {
  const p = pipe();
  if (p.rc < 0) throw new NsboxError('PIPE', `pipe2: ${errnoName(-p.rc)}`, 'too many open files? raise `ulimit -n`');
  return p;
}

/** How the worker reaches the container's root: an fd of a running one's, or what to mount for a stopped one. */
function rootAccess(s: CopySubject): { rootFd?: number; rootPath?: string; setup: ChildStep[] } {
  if (s.state === 'running' && s.record.process) {
    let fd: number;
    try {
      fd = openSync(`/proc/${s.record.process.pid}/root`, O_PATH | constants.O_DIRECTORY);
    } catch (err) {
      throw new NsboxError('CP_FAILED', `cannot reach the files of ${s.ref}: ${(err as NodeJS.ErrnoException).code}`, 'is it still running? see `nsbox ps -a`');
    }
    // The pid could have been reused between the record and the open: the process must still be the container's.
    if (!isAlive(s.record.process)) {
      closeSync(fd);
      throw new NsboxError('CONTAINER_STATE', `${s.ref} exited while the copy began`, 'try again: a stopped container is copied from its files');
    }
    return { rootFd: fd, setup: [] };
  }
  if (s.state === 'restarting') throw new NsboxError('CONTAINER_STATE', `${s.ref} is restarting`, 'wait until it runs (nsbox ps) or stop it, then copy');
  if (s.record.rootfs === 'copy') return { rootPath: s.paths.copy, setup: [] };
  const data = overlayOptions({ lowerDirs: s.layerDirs, upperDir: s.paths.upper, workDir: s.paths.work });
  return { rootPath: s.paths.mountPoint, setup: [{ op: 'mount', source: 'overlay', target: s.paths.mountPoint, fstype: 'overlay', flags: 0, data, scope: 'host' }] };
}

/** Runs the worker with `job`; `feed` writes its stdin, `drain` reads its stdout. */
async function runWorker(s: CopySubject, job: CopyJob, feed: ((w: Socket) => Promise<void>) | null, drain: ((r: Socket) => Promise<void>) | null): Promise<void> {
  requireArtifact(workerScript);
  const access = rootAccess(s);
  const fds: number[] = [];
  const own = <T extends { read: number; write: number }>(p: T) => (fds.push(p.read, p.write), p);
  let input: { read: number; write: number } | null = null;
  let output: { read: number; write: number } | null = null;
  let errors: { read: number; write: number };
  let child: Awaited<ReturnType<typeof spawnInUserns>>;
  try {
    input = feed ? own(openPipe()) : null;
    output = drain ? own(openPipe()) : null;
    errors = own(openPipe());
    const fullJob = { ...job, ...(access.rootPath ? { rootPath: access.rootPath } : {}) } as CopyJob;
    child = await spawnInUserns({
      argv: [process.execPath, workerScript, JSON.stringify(fullJob)],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'LANG=C.UTF-8'],
      stdio: [input ? input.read : -1, output ? output.write : -1, errors.write],
      passFds: access.rootFd !== undefined ? [access.rootFd] : [],
      ownMountNamespace: access.setup.length > 0,
      setup: access.setup,
    });
  } catch (err) {
    for (const fd of fds) closeFd(fd);
    throw err;
  } finally {
    if (access.rootFd !== undefined) closeSync(access.rootFd);
  }
  if (input) closeFd(input.read);
  if (output) closeFd(output.write);
  closeFd(errors.write);

  let stderr = '';
  const errSocket = new Socket({ fd: errors.read, readable: true, writable: false });
  errSocket.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const errClosed = new Promise<void>((r) => errSocket.on('close', () => r()));
  const work: Promise<void>[] = [];
  let sideFailure: Error | null = null;
  const side = (p: Promise<void>) => work.push(p.catch((err: Error) => void (sideFailure ??= err)));
  if (input && feed) {
    const w = new Socket({ fd: input.write, readable: false, writable: true });
    w.on('error', () => {}); // the worker may stop reading when it fails; its own report says why
    side(feed(w));
  }
  if (output && drain) side(drain(new Socket({ fd: output.read, readable: true, writable: false })));
  const status = await child.exit;
  await Promise.all(work);
  await errClosed;
  if (status.code !== 0) {
    const line = stderr.split('\n').find((l) => l.startsWith('{'));
    const m = line ? (JSON.parse(line) as { code: string; message: string; hint?: string }) : null;
    // The worker stops on EPIPE when our side gave up first: then our side's reason is the one.
    if (m && !(sideFailure && /EPIPE/.test(m.message))) throw new NsboxError(m.code, m.message, m.hint);
    if (sideFailure) throw sideFailure;
    throw new NsboxError('CP_FAILED', `the copy failed (exit ${status.code ?? `signal ${status.signal}`}): ${stderr.trim().split('\n').pop() ?? ''}`, 'run with --debug for more');
  }
  if (sideFailure) throw sideFailure;
}

const hostOpener: PathOpener = (path, flags) => {
  try {
    return openSync(path, flags | 0o2000000);
  } catch (err) {
    return (err as NodeJS.ErrnoException).errno ?? -2;
  }
};

/** The name a copied tree's top gets in the tar: the source's last name. */
function topName(path: string): string {
  return splitPath(path).name ?? 'root';
}

async function feedFrom(source: CopySource, w: Socket): Promise<void> {
  if ('tar' in source) return pipeline(source.tar, w);
  if ('bytes' in source) return pipeline(Readable.from([packBytes('file', source.bytes, source.mode)]), w);
  const { dir, name } = splitPath(source.hostPath);
  if (name === null) throw new NsboxError('CP_UNSUPPORTED', 'copying the host\'s whole root is not supported', 'copy a directory below /');
  let dirfd: number;
  try {
    dirfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch {
    throw new NsboxError('CP_NO_SUCH_FILE', `${source.hostPath}: no such file or directory`, 'check the path');
  }
  try {
    await pipeline(Readable.from(packAt(dirfd, name, name)), w);
  } finally {
    closeSync(dirfd);
  }
}

/** Copies a host file or directory, a tar stream or bytes into the container at `dst` (docker's rules). */
export async function copyIntoContainer(s: CopySubject, source: CopySource, dst: string, opts: { keepOwners?: boolean } = {}): Promise<void> {
  if (!dst.startsWith('/')) dst = `/${dst}`;
  if ('hostPath' in source) {
    // Checked here, so that a missing source is named before any worker starts.
    const { dir, name } = splitPath(source.hostPath);
    const fd = hostOpener(join(dir, name ?? ''), O_PATH | constants.O_NOFOLLOW);
    if (fd < 0) throw new NsboxError('CP_NO_SUCH_FILE', `${source.hostPath}: no such file or directory`, 'check the path');
    closeSync(fd);
  }
  const contentsOnly = 'hostPath' in source && isContentsOnly(source.hostPath);
  const job: CopyJob = { op: 'in', dst, contentsOnly, stream: 'tar' in source, keepOwners: !!opts.keepOwners };
  await runWorker(s, job, (w) => feedFrom(source, w), null);
}

/** Copies `src` of the container to a host path (docker's rules) or as a tar stream. */
export async function copyFromContainer(s: CopySubject, src: string, sink: CopySink): Promise<void> {
  if (!src.startsWith('/')) src = `/${src}`;
  // DIR/. as a tar stream is DIR's contents, named ./…, as docker's archive has them.
  const job: CopyJob = { op: 'out', src, top: 'tar' in sink && isContentsOnly(src) ? '.' : topName(src) };
  const drain = async (r: Socket): Promise<void> => {
    if ('tar' in sink) return pipeline(r, sink.tar, { end: false });
    try {
      await unpackTree(r, { place: placeOnto(hostOpener, sink.hostPath, sink.hostPath, isContentsOnly(src)) });
    } finally {
      r.destroy(); // a failure here must not leave the worker blocked on a full pipe
    }
  };
  await runWorker(s, job, null, drain);
}


/** docker's stat of a path in the container (its archive endpoints' header): the last component not followed. */
export async function statInContainer(s: CopySubject, path: string): Promise<PathStat> {
  if (!path.startsWith('/')) path = `/${path}`;
  let out = '';
  await runWorker(s, { op: 'stat', path }, null, async (r) => {
    for await (const chunk of r) out += (chunk as Buffer).toString('utf8');
  });
  return JSON.parse(out) as PathStat;
}
