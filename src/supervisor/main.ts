#!/usr/bin/env node
// The per-pod supervisor (the role conmon plays for podman). The shim's
// middle process execs it right after starting the pause, so it is the
// pause's parent: it reaps it, answers on the pod's socket, and exits when
// the pod ends. argv: JSON {root, id}, then the pause's pid.
import { unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { kill, pidfdOpen, setChildSubreaper } from '../native/ffi.js';
import { Pod } from '../pod/pod.js';
import { startForwarder } from '../net/start-forwarder.js';
import { PortServer } from '../pod/port-server.js';
import { startPasta } from '../net/pasta.js';
import { writeNetworkError, writeSupervisorError } from '../pod/network-error.js';
import type { PodRecord } from '../pod/record.js';
import { reaper } from '../process/reaper.js';
import { readJson } from '../state/atomic.js';
import { withStateLock } from '../state/lock.js';
import { statePaths } from '../state/paths.js';
import type { ContainerRecord } from '../container/record.js';
import type { SupervisorRequest, SupervisorResponse } from './protocol.js';

const SIGKILL = 9;

function errorOf(err: unknown): { code: string; message: string; hint?: string } {
  if (err instanceof NsboxError) return { code: err.code, message: err.message, hint: err.hint };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

type Handler = (req: SupervisorRequest) => Promise<ContainerRecord | void>;

function serve(socketPath: string, handle: Handler) {
  const server = createServer((conn: Socket) => {
    let buf = '';
    conn.on('error', () => {});
    conn.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const answer = (res: SupervisorResponse) => conn.end(JSON.stringify(res) + '\n');
      let req: SupervisorRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as SupervisorRequest;
      } catch {
        return answer({ ok: false, error: { code: 'BAD_REQUEST', message: 'malformed request' } });
      }
      handle(req).then(
        (container) => answer({ ok: true, pid: process.pid, ...(container ? { container } : {}) }),
        (err) => answer({ ok: false, error: errorOf(err) }),
      );
    });
  });
  server.on('error', () => {}); // the pod still runs without its socket; stop falls back to signals
  server.listen(socketPath);
  return server;
}

async function main(): Promise<void> {
  const { root, id } = JSON.parse(process.argv[2] ?? '{}') as { root: string; id: string };
  const pausePid = Number(process.argv[3]);
  process.chdir('/'); // hold no mount busy
  setChildSubreaper();
  // The creator writes the record under the state lock before releasing it:
  // once we hold the lock, the record is there, or the creator died.
  const record = await withStateLock(root, () => readJson<PodRecord>(statePaths.podRecord(root, id)));
  if (!record || record.pause.pid !== pausePid || record.supervisor.pid !== process.pid) {
    kill(pausePid, SIGKILL);
    await reaper.wait(pausePid);
    process.exit(1);
  }
  const pidfd = pidfdOpen(pausePid);
  const pod = new Pod(root, record, pidfd < 0 ? null : pidfd);
  if (pidfd < 0) process.exit(1); // not our child any more: nothing to supervise

  // Published ports: the creator passed the host listeners as fds 3, 4, ...
  // (kept open here: a forwarder started again after a crash gets them again).
  const ports = record.ports ?? [];
  // A port server that cannot be started again: the reason stays for `pod inspect`, the pod goes.
  const giveUp = (err: unknown) => {
    writeNetworkError(root, id, err);
    kill(pausePid, SIGKILL);
  };
  if (record.network === 'pasta') {
    const server = new PortServer(() => startPasta(pausePid, ports, statePaths.podDir(root, id)), giveUp);
    try {
      await server.begin();
      pod.attachPortServer(server);
    } catch (err) {
      // `pod create` is waiting for us to listen: leave it the reason, take the pod down.
      writeNetworkError(root, id, err);
      kill(pausePid, SIGKILL);
      await reaper.wait(pausePid);
      process.exit(1);
    }
  } else if (ports.length) {
    const server = new PortServer(() => startForwarder(pidfd, ports.map((mapping, i) => ({ fd: 3 + i, mapping }))), giveUp);
    await server.begin();
    pod.attachPortServer(server);
  }
  const socketPath = statePaths.podSocket(root, id);
  const state: { stopping: Promise<void> | null } = { stopping: null };
  const stop = (timeoutSeconds: number) => (state.stopping ??= pod.stop({ timeoutSeconds }));
  const containers = pod.containerManager(true);
  const server = serve(socketPath, async (req) => {
    switch (req.op) {
      case 'ping':
        return;
      case 'stop':
        return stop(req.timeoutSeconds);
      case 'run':
        return containers.run(req.request);
      case 'container-start':
        return containers.startAgain(req.name);
      case 'container-stop':
        return containers.stop(req.name, req.timeoutSeconds);
      case 'container-rm':
        return containers.remove(req.name, req.force);
      case 'container-wait':
        return containers.wait(req.name);
      default:
        throw new NsboxError('BAD_REQUEST', `unknown request ${JSON.stringify(req)}`);
    }
  });
  const keepAlive = setInterval(() => {}, 1 << 30); // until the pod ends, socket or not
  process.on('SIGTERM', () => void stop(10));
  process.on('SIGINT', () => void stop(10));

  await pod.waitExit();
  await pod.portServerGone(); // host ports closed before we report or exit
  clearInterval(keepAlive);
  server.close();
  try {
    unlinkSync(socketPath);
  } catch {
    // the pod's state was removed already
  }
  if (state.stopping) await state.stopping.catch(() => {});
  setTimeout(() => process.exit(0), 50).unref();
}

/** An unexpected failure is written to the pod's directory (`pod ls`/`inspect` show it), then the pod goes with us. */
function fail(err: unknown): never {
  try {
    const { root, id } = JSON.parse(process.argv[2] ?? '{}') as { root?: string; id?: string };
    if (root && id) writeSupervisorError(root, id, err);
  } catch {
    // nowhere to write it
  }
  process.exit(1);
}

process.on('uncaughtException', fail);
main().catch(fail);
