// `nsbox top` and `nsbox stats`, from /proc: a container's own processes (its
// children and orphans, not another container's of the same pod), with pids
// and users as the pod sees them; CPU and memory that follow what they do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
const POD = 'toppod';

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'idle', '--user', '1234', 'busybox', 'sh', '-c', 'sleep 601 & exec sleep 600']).code).toBe(0);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'busy', 'busybox', 'sh', '-c', 'while :; do :; done']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const cli = (...args: string[]) => nsbox(root, args);
const rows = (text: string) => text.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/));

describe(`top and stats (${testMode})`, () => {
  it("top lists the container's own processes with the pod's pids and the container's user", () => {
    const r = cli('top', `${POD}/idle`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND/);
    const procs = rows(r.stdout);
    const commands = procs.map((p) => p[7]);
    expect(commands).toEqual(expect.arrayContaining(['sleep 600', 'sleep 601']));
    expect(commands.some((c) => c?.includes('while'))).toBe(false); // the other container's
    for (const p of procs) expect(p[0]).toBe('1234');
    const main = procs.find((p) => p[7] === 'sleep 600')!;
    const child = procs.find((p) => p[7] === 'sleep 601')!;
    expect(child[2]).toBe(main[1]); // its parent, by the pod's pid
    expect(Number(main[1])).toBeLessThan(100); // a pod pid, not the host's
    // The control: the other container's top shows it.
    expect(cli('top', `${POD}/busy`).stdout).toMatch(/while :; do :; done/);
  });

  it('stats --no-stream: a busy loop uses CPU, a sleeper does not; processes and memory counted', () => {
    const r = cli('stats', '--no-stream', '--format', 'json', `${POD}/idle`, `${POD}/busy`);
    expect(r.code, r.stderr).toBe(0);
    const [idle, busy] = JSON.parse(r.stdout);
    expect(idle).toMatchObject({ Name: `${POD}/idle`, PIDs: 2 });
    expect(busy).toMatchObject({ Name: `${POD}/busy`, PIDs: 1 });
    expect(busy.CPU).toBeGreaterThan(10);
    expect(idle.CPU).toBeLessThan(5);
    expect(busy.AvgCPU).toBeGreaterThan(10);
    expect(idle.MemUsage).toBeGreaterThan(100_000);
    expect(idle.MemLimit).toBeGreaterThan(idle.MemUsage);
    const table = cli('stats', '--no-stream');
    expect(table.stdout).toMatch(/^NAME\s+CPU %\s+MEM USAGE \/ LIMIT/);
    expect(table.stdout).toMatch(new RegExp(`${POD}/busy`));
  });

  it('top of a container that is not running is one line, exit 125', () => {
    expect(cli('run', '--pod', POD, '--name', 'done', 'busybox', 'true').code).toBe(0);
    const r = cli('top', `${POD}/done`);
    expect(r.code).toBe(125);
    expect(isOneLineRefusal(r)).toBe(true);
    expect(r.stderr).toMatch(/is not running/);
  });
});
