// Bringing up a detached pod's keeper: it gets a socket to its creator as fd
// 3, and on it one `init` (where to listen, and the port server's plan). It
// answers once the pod is ready, in every network mode: `ready`, or why not
// (then it has taken the pod down itself). If the creator dies first, the
// keeper sees the socket close and takes the pod down too.
import { NsboxError } from '../errors.js';
import { streamSocketPair } from '../native/ffi.js';
import { errnoName } from '../core/errno.js';
import { encodePlan, type SpawnPlan } from '../native/plan.js';
import { spawnFailure } from '../native/spawn.js';
import { lastLogLine, pastaError, pastaFiles } from '../net/pasta.js';
import { join } from 'node:path';
import { readJson } from '../state/atomic.js';
import { frame, FrameReader } from './frames.js';

const READY_TIMEOUT_MS = 20_000;

export interface KeeperControl {
  /** Goes to the keeper (fd 3). */
  theirs: number;
  ours: number;
}

export function keeperControl(): KeeperControl {
  const pair = streamSocketPair();
  if (pair.rc < 0) throw new NsboxError('SOCKET', `socketpair: ${errnoName(-pair.rc)}`, 'too many open files? raise `ulimit -n`');
  return { ours: pair.fds[0], theirs: pair.fds[1] };
}

export interface KeeperInit {
  socketPath: string;
  portServer: { kind: 'none' } | { kind: 'forward' | 'pasta'; plan: SpawnPlan };
  podDir: string;
}

function failureOf(answer: string, init: KeeperInit): Error {
  if (answer === 'err pasta') return pastaError(lastLogLine(pastaFiles(init.podDir).logFile));
  if (answer.startsWith('spawnerr ') && init.portServer.kind !== 'none') {
    const [section, step, err] = answer.split(' ').slice(1).map(Number) as [number, number, number];
    return spawnFailure(init.portServer.plan, { rc: -err, pid: 0, section, step, err, detail: 0, middleStatus: 0, middlePid: 0, middleExecd: false });
  }
  return new NsboxError('KEEPER_FAILED', `the pod's keeper could not bring the pod up: ${answer.replace(/^err /, '')}`, 'run `nsbox check`');
}

/** The keeper left before it was ready: its own reason, when it wrote one (supervisor-error.json). */
function keeperGone(podDir: string): NsboxError {
  const said = readJson<{ message?: string }>(join(podDir, 'supervisor-error.json'))?.message;
  return new NsboxError('KEEPER_FAILED', said ?? "the pod's keeper exited before the pod was ready", 'run `nsbox check`');
}

/** Sends `init` and resolves once the keeper says the pod is ready; our end of the socket is closed either way. */
export async function initKeeper(ours: number, init: KeeperInit): Promise<void> {
  const { Socket } = await import('node:net');
  const sock = new Socket({ fd: ours, readable: true, writable: true });
  const reader = new FrameReader();
  const kind = init.portServer.kind;
  const plan = init.portServer.kind === 'none' ? undefined : encodePlan(init.portServer.plan);
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new NsboxError('KEEPER_TIMEOUT', `the pod's keeper was not ready within ${READY_TIMEOUT_MS} ms`, 'run `nsbox check`')), READY_TIMEOUT_MS);
      sock.on('data', (d: Buffer) => {
        const a = reader.push(d);
        if (a !== null) (clearTimeout(timer), resolve(a));
      });
      sock.on('error', () => {});
      sock.on('close', () => (clearTimeout(timer), reject(keeperGone(init.podDir))));
      sock.write(frame(`init ${init.socketPath} ${kind}`, plan ?? Buffer.alloc(0)));
    });
    if (answer !== 'ready') throw failureOf(answer, init);
  } finally {
    sock.destroy();
  }
}
