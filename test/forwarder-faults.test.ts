// The builtin forwarder under faults: out of file descriptors (its
// RLIMIT_NOFILE lowered with prlimit) it resets the clients it cannot serve
// instead of spinning on the listener, and serves again once fds are free;
// killed while the pod runs, what a client, `port` and `pod ls` see.
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { nsbox, podDirs, removeAllPods, waitFor } from './helpers/nsbox.js';
import { childrenByExe, cpuTicks, openFdCount, pidNamespaceMembers, pinPidNamespace, podFacts, running, TICKS_PER_SECOND } from './helpers/processes.js';

let root: string;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

type Outcome = 'echoed' | 'closed' | 'timeout' | string;

/** Connects, sends a line and says what came of it: the echo, a close, an error code, or nothing within `ms`. */
function tryEcho(port: number, ms = 10_000): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (o: Outcome) => (clearTimeout(timer), s.destroy(), resolve(o));
    const timer = setTimeout(() => done('timeout'), ms);
    s.on('connect', () => s.write('ping\n'));
    s.on('data', (d) => d.toString() === 'ping\n' && done('echoed'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
    s.on('close', () => done('closed'));
  });
}

/** An open connection through the forwarder, shown to work (its echo came back). */
function heldConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('connect', () => s.write('hold\n'));
    s.once('data', (d) => (d.toString() === 'hold\n' ? resolve(s) : reject(new Error(`unexpected ${d}`))));
    s.on('error', reject);
  });
}

/** A pod publishing an echo server (busybox nc, one `cat` per connection); returns its port and forwarder. */
async function echoPod(name: string): Promise<{ id: string; port: number; forwarder: number; supervisor: number; pausePid: number }> {
  let port = 0;
  for (let attempt = 0; attempt < 5 && !port; attempt++) {
    const candidate = await freePort();
    const r = nsbox(root, ['pod', 'create', '--name', name, '-p', `127.0.0.1:${candidate}:7`]);
    if (r.code === 0) port = candidate;
    else expect(r.stderr).toMatch(/address already in use/); // another test file took it meanwhile
  }
  expect(port).toBeGreaterThan(0);
  expect(nsbox(root, ['run', '-d', '--pod', name, '--name', 'echo', 'busybox', 'nc', '-ll', '-p', '7', '-e', 'cat']).code).toBe(0);
  await echoesWithin(port, 15_000);
  const facts = podFacts(root, name);
  const forwarders = childrenByExe(facts.supervisorPid, '/nsbox-forward');
  expect(forwarders).toHaveLength(1);
  return { id: facts.id, port, forwarder: forwarders[0]!, supervisor: facts.supervisorPid, pausePid: facts.pausePid };
}

/** Tries the echo until it comes back; fails after `ms`. */
async function echoesWithin(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last: Outcome = '';
  while ((last = await tryEcho(port, 2000)) !== 'echoed') {
    if (Date.now() > deadline) throw new Error(`no echo through port ${port} within ${ms} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lowers (or raises, up to the hard limit) the forwarder's soft RLIMIT_NOFILE. */
function limitFds(pid: number, soft: number): void {
  execFileSync('prlimit', ['--pid', String(pid), `--nofile=${soft}:`]);
}

/** Sockets and pipes the forwarder holds besides its one listener: those of its connections. */
function connectionFds(pid: number): number {
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '';
    }
  });
  return links.filter((l) => l.startsWith('socket:') || l.startsWith('pipe:')).length - 1;
}

/** Each connection costs the forwarder six fds: both sockets and a pipe each way. */
const FDS_PER_CONNECTION = 6;

describe(`forwarder faults (${testMode})`, () => {
  it('out of fds: clients it cannot serve are reset at once, it does not spin, and it serves again once fds are free', async () => {
    const { port, forwarder } = await echoPod('emfile');
    await waitFor(() => connectionFds(forwarder) === 0, 10_000, 'the probe connections to close');
    const idle = openFdCount(forwarder);

    // Case 1, the reserve fd: the limit is reached exactly, so accept() itself fails with EMFILE.
    // Case 2: the limit falls inside a connection's setup (accept works, the pipes do not).
    for (const [what, spare] of [['accept fails', 0], ['setup fails', 3]] as const) {
      const limit = idle + 2 * FDS_PER_CONNECTION + spare;
      limitFds(forwarder, limit);
      const held = [await heldConnection(port), await heldConnection(port)];
      expect(openFdCount(forwarder), what).toBe(idle + 2 * FDS_PER_CONNECTION);

      const started = Date.now();
      const before = cpuTicks(forwarder);
      const waiting = await Promise.all(Array.from({ length: 5 }, () => tryEcho(port)));
      // A listener left readable would keep epoll_wait returning at once: CPU time says.
      await new Promise((r) => setTimeout(r, 1000));
      const cpuSeconds = (cpuTicks(forwarder) - before) / TICKS_PER_SECOND;
      const wallSeconds = (Date.now() - started) / 1000;
      expect(cpuSeconds, `${what}: ${cpuSeconds} s of CPU in ${wallSeconds} s`).toBeLessThan(0.2 * wallSeconds);
      expect(waiting, what).toEqual(Array(5).fill('ECONNRESET'));

      // Still serving what it holds; and a freed connection's fds serve a new client.
      for (const h of held) expect(await new Promise((r) => (h.once('data', (d) => r(d.toString())), h.write('still\n')))).toBe('still\n');
      held[0]!.destroy();
      await waitFor(() => openFdCount(forwarder) === idle + FDS_PER_CONNECTION, 10_000, 'the closed connection to be let go');
      expect(await tryEcho(port), what).toBe('echoed');
      held[1]!.destroy();
      await waitFor(() => openFdCount(forwarder) === idle, 10_000, 'the last connection to be let go');
    }
    expect(nsbox(root, ['pod', 'rm', '-f', 'emfile']).code).toBe(0);
  });

  it('the forwarder killed while the pod runs is started again: the port serves again, the containers run on, and rm -f cleans up', async () => {
    const { id, port, forwarder, supervisor, pausePid } = await echoPod('fwd-dies');
    const podNs = pinPidNamespace(pausePid);
    const [echo] = JSON.parse(nsbox(root, ['ps', '--pod', 'fwd-dies', '--format', 'json']).stdout) as { process: { pid: number } }[];
    const echoPid = echo!.process.pid;
    for (let round = 0; round < 3; round++) {
      const victim = childrenByExe(supervisor, '/nsbox-forward')[0]!;
      expect(victim, `round ${round}`).toBeGreaterThan(0);
      process.kill(victim, 'SIGKILL');
      await waitFor(() => !running(victim), 5000, 'the forwarder to die');
      // The supervisor keeps the listening sockets: the port is served again, by a new forwarder.
      await echoesWithin(port, 10_000);
      const now = childrenByExe(supervisor, '/nsbox-forward');
      expect(now).toHaveLength(1);
      expect(now[0]).not.toBe(victim);
    }
    expect(forwarder).toBeGreaterThan(0);
    expect(running(echoPid)).toBe(true);
    expect(nsbox(root, ['port', 'fwd-dies']).stdout).toContain(`127.0.0.1:${port}`);
    expect(nsbox(root, ['pod', 'rm', '-f', 'fwd-dies']).code).toBe(0);
    expect(pidNamespaceMembers(podNs)).toEqual([]);
    podNs.release();
    expect(running(supervisor)).toBe(false);
    expect(childrenByExe(supervisor, '/nsbox-forward')).toEqual([]);
    expect(await portRefused(port)).toBe(true);
    expect(podDirs(root)).not.toContain(id);
  });
});
