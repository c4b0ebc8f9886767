// The pod's keeper under faults. SIGTERM to it stops the pod in order:
// containers first (they get SIGTERM and their exit is recorded), then the
// pause. Killed with -9 in the middle of a request (run, start, stop), the
// CLI call fails at once with a reason instead of waiting, nothing is left
// half-running, and `pod rm -f` cleans up.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { holdNewSupervisor, releaseSupervisor, supervisorsOf } from './helpers/supervisor-hold.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerPaths } from '../dist/container/files.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { nsbox, podDirs, removeAllPods, waitFor } from './helpers/nsbox.js';
import { childPids, pidNamespaceMembers, pinPidNamespace, podFacts, running, settledWithin, startCli } from './helpers/processes.js';

let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

interface Ctr {
  name: string;
  state: string;
  exitCode: number | null;
  process: { pid: number } | null;
}

function containers(pod: string): Ctr[] {
  return JSON.parse(nsbox(root, ['ps', '-a', '--pod', pod, '--format', 'json']).stdout) as Ctr[];
}

/** The container's state as its keeper last wrote it (no CLI call: fast enough to poll). */
function recordedState(podId: string, name: string): string | null {
  try {
    return (JSON.parse(readFileSync(containerPaths(root, podId, name).status, 'utf8')) as { state: string }).state;
  } catch {
    return null;
  }
}

/** Everything a pod runs: the keeper, its children (pause, forwarder, workers) and the pod's PID namespace. */
function podProcesses(pod: string) {
  const facts = podFacts(root, pod);
  return { ...facts, children: childPids(facts.supervisorPid), pidNs: pinPidNamespace(facts.pausePid) };
}

/** Waits until none of the pod's processes runs any more. */
async function allGone(p: ReturnType<typeof podProcesses>): Promise<void> {
  try {
    await waitFor(() => [p.supervisorPid, ...p.children].every((pid) => !running(pid)) && pidNamespaceMembers(p.pidNs).length === 0, 10_000, 'the pod processes to go');
  } finally {
    p.pidNs.release();
  }
}

/** After a keeper died: the truth in ls and ps, and rm -f leaves nothing. */
async function podIsGoneAndRemovable(pod: string, p: ReturnType<typeof podProcesses>): Promise<void> {
  await allGone(p);
  expect(podFacts(root, pod).status).toBe('exited');
  for (const c of containers(pod)) expect(c.state, c.name).not.toBe('running');
  const rm = nsbox(root, ['pod', 'rm', '-f', pod]);
  expect(rm.code, rm.stderr).toBe(0);
  expect(podDirs(root)).not.toContain(p.id);
}

const IGNORES_TERM = 'trap "" TERM; echo ready; while true; do sleep 0.05; done';

describe(`keeper faults (${testMode})`, () => {
  it('SIGTERM to the keeper stops the containers first, records their exits, then ends the pod', async () => {
    const port = await freePort();
    expect(nsbox(root, ['pod', 'create', '--name', 'term', '-p', `127.0.0.1:${port}:80`]).code).toBe(0);
    for (const [name, code] of [['a', 7], ['b', 9]] as const)
      expect(nsbox(root, ['run', '-d', '--pod', 'term', '--name', name, 'busybox', 'sh', '-c', `trap "echo bye-${name}; exit ${code}" TERM; echo ready; while true; do sleep 0.05; done`]).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'term', '--name', 'web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']).code).toBe(0);
    await waitFor(() => ['a', 'b'].every((n) => nsbox(root, ['logs', `term/${n}`]).stdout === 'ready\n'), 10_000, 'the traps to be set');
    const p = podProcesses('term');
    process.kill(p.supervisorPid, 'SIGTERM');
    await allGone(p);
    // Each container got SIGTERM while the keeper still logged and recorded:
    // the pause going first would have killed them all with SIGKILL (137).
    expect(Object.fromEntries(containers('term').map((c) => [c.name, [c.state, c.exitCode]]))).toEqual({ a: ['exited', 7], b: ['exited', 9], web: ['exited', 143] });
    for (const n of ['a', 'b']) expect(nsbox(root, ['logs', `term/${n}`]).stdout).toBe(`ready\nbye-${n}\n`);
    expect(podFacts(root, 'term').status).toBe('exited');
    expect(await portRefused(port)).toBe(true);
    // A stop, not a crash: rm needs no -f.
    const rm = nsbox(root, ['pod', 'rm', 'term']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(podDirs(root)).not.toContain(p.id);
  });

  it('killed with -9 in the middle of run: the CLI fails at once, the container never runs, nothing of it is left', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'mid-run']).code).toBe(0);
    const p = podProcesses('mid-run');
    // Stopped, the keeper cannot answer: the run request waits in its socket.
    process.kill(p.supervisorPid, 'SIGSTOP');
    try {
      const cli = startCli(root, ['run', '-d', '--pod', 'mid-run', '--name', 'c', 'busybox', 'sleep', '600']);
      // The CLI has claimed the name and written the spec: it is waiting for the keeper.
      await waitFor(() => existsSync(containerPaths(root, p.id, 'c').record), 15_000, 'the CLI to be waiting for the keeper');
      expect(await settledWithin(cli.exited, 500)).toBe('pending');
      process.kill(p.supervisorPid, 'SIGKILL');
      expect(await settledWithin(cli.exited, 10_000)).toBe(125);
      expect(cli.stderr().trim().split('\n')).toHaveLength(1);
      expect(cli.stderr()).toMatch(/keeper/);
    } finally {
      if (running(p.supervisorPid)) process.kill(p.supervisorPid, 'SIGKILL');
    }
    // Never started, so not kept: its directory went with the failed run.
    expect(existsSync(containerPaths(root, p.id, 'c').dir)).toBe(false);
    expect(containers('mid-run')).toEqual([]);
    await podIsGoneAndRemovable('mid-run', p);
  });

  it('killed with -9 in the middle of stop: the CLI fails at once instead of waiting out the grace period', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'mid-stop']).code).toBe(0);
    expect(nsbox(root, ['run', '-d', '--pod', 'mid-stop', '--name', 'stubborn', 'busybox', 'sh', '-c', IGNORES_TERM]).code).toBe(0);
    await waitFor(() => nsbox(root, ['logs', 'mid-stop/stubborn']).stdout === 'ready\n', 10_000, 'the trap to be set');
    const p = podProcesses('mid-stop');
    const started = Date.now();
    const cli = startCli(root, ['stop', '-t', '60', 'mid-stop/stubborn']);
    await waitFor(() => recordedState(p.id, 'stubborn') === 'stopping', 15_000, 'the keeper to be stopping the container');
    process.kill(p.supervisorPid, 'SIGKILL');
    expect(await settledWithin(cli.exited, 0)).toBe('pending');
    expect(await settledWithin(cli.exited, 15_000)).toBe(125);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(cli.stderr()).toMatch(/keeper/);
    await podIsGoneAndRemovable('mid-stop', p);
  });

  it('killed with -9 while a start request waits for it: the CLI fails at once and the container does not run', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'mid-start']).code).toBe(0);
    expect(nsbox(root, ['run', '--pod', 'mid-start', '--name', 'once', 'busybox', 'true']).code).toBe(0);
    const p = podProcesses('mid-start');
    // Stopped, the keeper cannot answer: the request is in its socket, unread.
    process.kill(p.supervisorPid, 'SIGSTOP');
    try {
      const cli = startCli(root, ['start', 'mid-start/once']);
      expect(await settledWithin(cli.exited, 2000)).toBe('pending');
      process.kill(p.supervisorPid, 'SIGKILL');
      expect(await settledWithin(cli.exited, 10_000)).toBe(125);
      expect(cli.stderr()).toMatch(/keeper/);
    } finally {
      if (running(p.supervisorPid)) process.kill(p.supervisorPid, 'SIGKILL');
    }
    expect(containers('mid-start')).toMatchObject([{ name: 'once', state: 'exited', exitCode: 0 }]);
    await podIsGoneAndRemovable('mid-start', p);
  });

  it('a keeper that fails before the pod is ready: pod create says its reason in one line, and nothing is left', async () => {
    /** Creates a pod with its keeper held still at birth; `meanwhile` may change its directory before it goes on. */
    const createHeld = async (name: string, meanwhile: (podDir: string) => void) => {
      const others = supervisorsOf(root);
      const create = startCli(root, ['pod', 'create', '--name', name]);
      const keeper = await holdNewSupervisor(root, others);
      const podDir = readFileSync(`/proc/${keeper}/cmdline`, 'utf8').split('\0')[1]!;
      try {
        await waitFor(() => existsSync(join(podDir, 'pod.json')), 10_000, 'the creator to write the record');
        meanwhile(podDir);
      } finally {
        releaseSupervisor(keeper);
      }
      return { code: await create.exited, stderr: create.stderr(), keeper };
    };
    // The control: held and let go, the keeper makes the pod.
    const ok = await createHeld('held', () => {});
    expect(ok.code, ok.stderr).toBe(0);
    expect(nsbox(root, ['pod', 'rm', '-f', 'held']).code).toBe(0);
    // A directory where its socket goes: it cannot listen, says so, and takes the pod down.
    // Held too late (it was listening already), the directory cannot be made: only that may make us try again.
    let failed: Awaited<ReturnType<typeof createHeld>>;
    for (let attempt = 1; ; attempt++) {
      let planted = false;
      failed = await createHeld(`nosock-${attempt}`, (podDir) => {
        try {
          mkdirSync(join(podDir, 'keeper.sock'));
          planted = true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
      });
      if (planted) break;
      expect(failed.code, failed.stderr).toBe(0);
      expect(nsbox(root, ['pod', 'rm', '-f', `nosock-${attempt}`]).code).toBe(0);
      expect(attempt, 'the keeper was never held before it listened').toBeLessThan(5);
    }
    expect(failed.code).toBe(125);
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toMatch(/the pod's keeper failed: cannot listen on the pod's socket \(EADDRINUSE\)/);
    await waitFor(() => !running(failed.keeper), 5000, 'the keeper to exit');
    expect(nsbox(root, ['pod', 'ls', '-q']).stdout).toBe('');
    expect(podDirs(root)).toEqual([]);
  });

  it('speaks one versioned protocol, bounds what it reads, and survives clients that break it', async () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'proto']).code).toBe(0);
    // Through an fd of the pod's directory: the path itself may be longer than a socket path may be.
    const dirFd = openSync(join(root, 'pods', podFacts(root, 'proto').id), 'r');
    const socket = `/proc/self/fd/${dirFd}/keeper.sock`;
    const ask = (payload: Buffer | string, rawLength?: number) =>
      new Promise<string | null>((resolve) => {
        const body = Buffer.from(payload);
        const len = Buffer.alloc(4);
        len.writeUInt32LE(rawLength ?? body.length);
        const sock = connect(socket, () => sock.write(Buffer.concat([len, body])));
        let got = Buffer.alloc(0);
        sock.on('data', (d) => (got = Buffer.concat([got, d])));
        sock.on('error', () => resolve(null));
        sock.on('close', () => resolve(got.length >= 4 ? got.subarray(4).toString() : null));
      });
    try {
      expect(await ask('v1 ping')).toBe('ok'); // the control
      expect(await ask('v0 ping')).toBe('err protocol: this keeper speaks v1');
      expect(await ask('v1 stop ../etc 0')).toBe('err bad container name');
      expect(await ask('v1 stop nope 0')).toBe('err no such container');
      // A frame longer than any request is refused (the connection closes), not buffered.
      expect(await ask('v1 ping', 64 << 20)).toBeNull();
      expect(await ask('v1 ping')).toBe('ok');
      expect(podFacts(root, 'proto').status).toBe('running');
    } finally {
      closeSync(dirFd);
      expect(nsbox(root, ['pod', 'rm', '-f', 'proto']).code).toBe(0);
    }
  });

  it('kill -9 of one pod\'s keeper takes that pod only: a neighbour and its container run on', async () => {
    for (const pod of ['victim', 'bystander']) {
      expect(nsbox(root, ['pod', 'create', '--name', pod]).code).toBe(0);
      expect(nsbox(root, ['run', '-d', '--pod', pod, '--name', 'c', 'busybox', 'sleep', '600']).code).toBe(0);
    }
    const victim = podProcesses('victim');
    const bystander = podFacts(root, 'bystander');
    process.kill(victim.supervisorPid, 'SIGKILL');
    await allGone(victim);
    expect(podFacts(root, 'victim').status).toBe('exited');
    // The control: the same facts for the neighbour say running, and it still works through its keeper.
    expect(podFacts(root, 'bystander')).toMatchObject({ status: 'running', supervisorPid: bystander.supervisorPid });
    expect(containers('bystander')).toMatchObject([{ name: 'c', state: 'running' }]);
    expect(nsbox(root, ['exec', '--join', 'c', 'bystander', '--', 'true']).code).toBe(0);
    expect(nsbox(root, ['stop', '-t', '0', 'bystander/c']).code).toBe(0);
    expect(containers('bystander')).toMatchObject([{ name: 'c', state: 'exited', exitCode: 137 }]);
    for (const pod of ['victim', 'bystander']) expect(nsbox(root, ['pod', 'rm', '-f', pod]).code).toBe(0);
  });
});
