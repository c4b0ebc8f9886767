// The CLI against real namespaces and processes: pod create/ls/inspect/
// stop/rm, exec with exit codes, stdio, tty, hostname, loopback, IPC, reaping.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { artifacts } from '../dist/native/artifacts.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { leftoverProcesses, watchPod } from './helpers/leftovers.js';
import { isGoneOrZombie, nsbox, podDirs, waitFor } from './helpers/nsbox.js';

let root: string;
beforeAll(() => {
  root = tempRoot();
});
afterAll(() => {
  nsbox(root, ['pod', 'rm', '-f', ...podNamesIn(root)]);
  cleanupRoot(root);
});

function podNamesIn(r: string): string[] {
  const out = nsbox(r, ['pod', 'ls', '--format', 'json']);
  return (JSON.parse(out.stdout || '[]') as { name: string }[]).map((p) => p.name);
}

function inspect(name: string): { pausePid: number; supervisorPid: number; status: string; idMapping: string } {
  const r = nsbox(root, ['pod', 'inspect', name]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe(`pods from the CLI (${testMode})`, () => {
  let name = '';
  afterEach(() => {
    if (name && podNamesIn(root).includes(name)) nsbox(root, ['pod', 'rm', '-f', name]);
    name = '';
  });

  it('creates a pod whose pause is PID 1, lists it, and removes it without leaving anything', async () => {
    name = 'cli-basic';
    const created = nsbox(root, ['pod', 'create', '--name', name]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);

    const ls = nsbox(root, ['pod', 'ls']);
    expect(ls.stdout).toMatch(new RegExp(`${name}\\s+running`));
    const info = inspect(name);
    expect(info.status).toBe('running');
    expect(info.idMapping).toBe(testMode === 'root' ? 'root' : 'full');
    const watch = watchPod(root, name);
    expect(watch.processes.map((p) => p.role).sort()).toEqual(['keeper', 'pause']);

    const ps = nsbox(root, ['exec', '--join', 'pause', name, '--', 'ps', 'aux']);
    expect(ps.code, ps.stderr).toBe(0);
    const lines = ps.stdout.trim().split('\n').slice(1);
    expect(lines[0]).toMatch(/^\S+\s+1\s.*\/pause$/);
    expect(lines.some((l) => /\sps aux$/.test(l))).toBe(true);
    expect(lines).toHaveLength(2); // nothing else: our own PID namespace

    const rm = nsbox(root, ['pod', 'rm', '-f', name]);
    expect(rm.code, rm.stderr).toBe(0);
    await waitFor(() => isGoneOrZombie(info.pausePid) && isGoneOrZombie(info.supervisorPid), 5000, 'pause and supervisor to exit');
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
  });

  it('propagates exit codes: 0, 1, 32, 127 missing, 126 not executable, 128+N for signals', () => {
    name = 'cli-codes';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    const code = (...cmd: string[]) => nsbox(root, ['exec', name, '--', ...cmd]);
    expect(code('true').code).toBe(0);
    expect(code('false').code).toBe(1);
    expect(code('sh', '-c', 'exit 32').code).toBe(32);
    const missing = code('no-such-command');
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command.*not found/);
    expect(code('/etc').code).toBe(126);
    expect(code('sh', '-c', 'kill -TERM $$').code).toBe(128 + 15);
    expect(code('sh', '-c', 'kill -KILL $$').code).toBe(128 + 9);
  });

  it('attaches stdio, passes -e and -w, and sees the pod hostname and only lo', () => {
    name = 'cli-stdio';
    expect(nsbox(root, ['pod', 'create', '--name', name, '--hostname', 'box1']).code).toBe(0);
    const echo = nsbox(root, ['exec', '-i', name, '--', 'cat'], { input: 'through stdin\n' });
    expect(echo.stdout).toBe('through stdin\n');
    const noStdin = nsbox(root, ['exec', name, '--', 'cat'], { input: 'ignored\n' });
    expect(noStdin.stdout).toBe(''); // without -i stdin is /dev/null, as in podman
    const env = nsbox(root, ['exec', '-e', 'GREETING=hi', '-w', '/tmp', name, '--', 'sh', '-c', 'echo "$GREETING $PWD $(hostname)"; echo err >&2']);
    expect(env.stdout).toBe('hi /tmp box1\n');
    expect(env.stderr).toBe('err\n');
    const links = nsbox(root, ['exec', name, '--', 'cat', '/proc/net/dev']);
    const ifaces = links.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim());
    expect(ifaces).toEqual(['lo']);
    const lo = nsbox(root, ['exec', name, '--', 'cat', '/sys/class/net/lo/operstate']);
    expect(lo.code).toBe(0);
    const flags = nsbox(root, ['exec', name, '--', 'cat', '/sys/class/net/lo/flags']);
    expect(Number(flags.stdout.trim()) & 1).toBe(1); // IFF_UP
  });

  it('gives a terminal with -t', () => {
    name = 'cli-tty';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    const tty = nsbox(root, ['exec', '-t', name, '--', 'sh', '-c', 'tty; test -t 0 && echo is-a-tty']);
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+\r?\n/);
    expect(tty.stdout).toMatch(/is-a-tty/);
    const plain = nsbox(root, ['exec', name, '--', 'sh', '-c', 'test -t 0 || echo not-a-tty']);
    expect(plain.stdout).toBe('not-a-tty\n');
  });

  it('reaps orphans with the pause: no zombie stays in the pod', async () => {
    name = 'cli-reap';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    expect(nsbox(root, ['exec', name, '--', 'sh', '-c', 'sleep 0.3 & exit 0']).code).toBe(0);
    expect(nsbox(root, ['exec', name, '--', artifacts.probe, 'orphan', '10']).code).toBe(0);
    let states = '';
    await waitFor(() => {
      states = nsbox(root, ['exec', name, '--', 'ps', '-eo', 'stat=,args=']).stdout;
      return !/sleep/.test(states);
    }, 5000, 'the orphaned sleep to end');
    expect(states.split('\n').filter((l) => l.trim().startsWith('Z'))).toEqual([]);
    expect(states).toMatch(/\/pause/);
  });

  it('shares IPC within a pod and isolates it between pods', () => {
    name = 'cli-ipc-a';
    expect(nsbox(root, ['pod', 'create', '--name', 'cli-ipc-a']).code).toBe(0);
    expect(nsbox(root, ['pod', 'create', '--name', 'cli-ipc-b']).code).toBe(0);
    try {
      const probe = (pod: string, ...args: string[]) => nsbox(root, ['exec', pod, '--', artifacts.probe, ...args]).code;
      expect(probe('cli-ipc-a', 'shm-create', '4242')).toBe(0);
      expect(probe('cli-ipc-a', 'shm-exists', '4242')).toBe(0);
      expect(probe('cli-ipc-b', 'shm-exists', '4242')).toBe(1);
      expect(probe('cli-ipc-a', 'mq-create', 'nsbox-test')).toBe(0);
      expect(probe('cli-ipc-a', 'mq-exists', 'nsbox-test')).toBe(0);
      expect(probe('cli-ipc-b', 'mq-exists', 'nsbox-test')).toBe(1);
    } finally {
      nsbox(root, ['pod', 'rm', '-f', 'cli-ipc-b']);
    }
  });

  it('stops a pod: it shows as exited, a second stop and an exec are refused, rm cleans up', async () => {
    name = 'cli-stop';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    const info = inspect(name);
    const watch = watchPod(root, name);
    const stop = nsbox(root, ['pod', 'stop', '-t', '2', name]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(isGoneOrZombie(info.pausePid)).toBe(true);
    expect(inspect(name).status).toBe('exited');
    const again = nsbox(root, ['pod', 'stop', name]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toMatch(/already stopped/);
    const exec = nsbox(root, ['exec', name, '--', 'true']);
    expect(exec.code).toBe(125);
    expect(exec.stderr).toMatch(/not running/);
    expect(nsbox(root, ['pod', 'rm', name]).code).toBe(0);
    await waitFor(() => isGoneOrZombie(info.supervisorPid), 5000, 'the supervisor to exit');
    expect(podDirs(root)).toEqual([]);
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
  });

  it('refuses to remove a running pod without -f', () => {
    name = 'cli-rm-running';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    const rm = nsbox(root, ['pod', 'rm', name]);
    expect(rm.code).toBe(125);
    expect(rm.stderr).toMatch(/is running.*pod rm -f/);
    expect(inspect(name).status).toBe('running');
  });

  it('prints pods as JSON for scripts', () => {
    name = 'cli-json';
    expect(nsbox(root, ['pod', 'create', '--name', name]).code).toBe(0);
    const pods = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string; status: string; id: string }[];
    const mine = pods.find((p) => p.name === name);
    expect(mine?.status).toBe('running');
    expect(mine?.id).toMatch(/^[0-9a-f]{64}$/);
  });
});
