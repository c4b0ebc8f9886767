#!/usr/bin/env node
// The per-pod supervisor process (the role conmon plays for podman): parent
// and subreaper of the pod's pause, it keeps the pod alive after the CLI
// exits, answers on the pod's socket, and exits when the pod ends.
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { setChildSubreaper } from '../native/ffi.js';
import { createLocalPod } from '../pod/create.js';
import { statePaths } from '../state/paths.js';
import type { SupervisorRequest, SupervisorResponse, SupervisorStartReport } from './protocol.js';

interface SupervisorConfig {
  root: string;
  name: string;
  hostname: string;
}

function report(r: SupervisorStartReport): void {
  writeSync(1, JSON.stringify(r) + '\n');
  // Nothing else goes to the creator: stdout becomes /dev/null.
  const devnull = openSync('/dev/null', 'w');
  closeSync(1);
  openSync('/dev/null', 'w'); // takes fd 1
  closeSync(devnull);
}

function errorOf(err: unknown): { code: string; message: string; hint?: string } {
  if (err instanceof NsboxError) return { code: err.code, message: err.message, hint: err.hint };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as SupervisorConfig;
  process.chdir('/'); // hold no mount busy
  setChildSubreaper();
  let created;
  try {
    created = await createLocalPod({ root: config.root, name: config.name, hostname: config.hostname, mode: 'detached' });
  } catch (err) {
    report({ ready: false, error: errorOf(err) });
    process.exitCode = 1;
    return;
  }
  const { pod, warnings } = created;
  const socketPath = statePaths.podSocket(config.root, pod.id);
  const state: { stopping: Promise<void> | null } = { stopping: null };
  const stop = (timeoutSeconds: number) => (state.stopping ??= pod.stop({ timeoutSeconds }));

  const server = createServer((conn: Socket) => {
    let buf = '';
    conn.on('error', () => {});
    conn.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const req = JSON.parse(buf.slice(0, nl)) as SupervisorRequest;
      const answer = (res: SupervisorResponse) => conn.end(JSON.stringify(res) + '\n');
      if (req.op === 'ping') answer({ ok: true, pid: process.pid });
      else if (req.op === 'stop')
        stop(req.timeoutSeconds).then(
          () => answer({ ok: true, pid: process.pid }),
          (err) => answer({ ok: false, error: errorOf(err) }),
        );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  process.on('SIGTERM', () => void stop(10));
  process.on('SIGINT', () => void stop(10));
  report({ ready: true, id: pod.id, warnings });

  await pod.waitExit();
  server.close();
  try {
    unlinkSync(socketPath);
  } catch {
    // the pod's state was removed already
  }
  // Give a pending stop request the chance to be answered.
  if (state.stopping) await state.stopping.catch(() => {});
  setTimeout(() => process.exit(0), 50).unref();
}

main().catch((err) => {
  try {
    report({ ready: false, error: errorOf(err) });
  } catch {
    // stdout already closed
  }
  process.exit(1);
});
