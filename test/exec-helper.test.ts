// The CLI's exec runs from the nsbox-exec helper (native-shims/exec.c), so a
// CLI call loads no FFI addon: a preload records whether ffi-rs is ever
// required (pod create, which spawns the pod itself, is the control that
// the record sees it). Through the helper, a signal the CLI gets reaches the
// command, whose exit code becomes the CLI's, and piped input reaches it
// with its end.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox, waitFor } from './helpers/nsbox.js';
import { ffiRecorder } from './helpers/ffi-record.js';

const POD = 'helped';
let root = '';
let loadsFfi: ReturnType<typeof ffiRecorder>;
beforeAll(() => {
  root = setUpPodRoot(POD);
  expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'c', 'busybox', 'sleep', '600']).code).toBe(0);
  loadsFfi = ffiRecorder(root);
});
afterAll(() => tearDownPodRoot(root));

describe(`exec through the helper (${testMode})`, () => {
  it('loads no FFI addon into the CLI, in the pod and in a container; pod create does (the control)', () => {
    const inPod = loadsFfi(['exec', POD, '--', 'sh', '-c', 'echo in-pod; exit 3']);
    expect([inPod.code, inPod.stdout, inPod.ffi]).toEqual([3, 'in-pod\n', false]);
    const inContainer = loadsFfi(['exec', '--join', 'c', POD, '--', 'cat', '/proc/1/cmdline']);
    expect([inContainer.code, inContainer.ffi]).toEqual([0, false]);
    expect(inContainer.stdout).toContain('/pause');
    const created = loadsFfi(['pod', 'create', '--name', 'control']);
    expect([created.code, created.ffi]).toEqual([0, true]);
  });

  it('passes the signal the CLI gets on to the command, whose exit code becomes the CLI\'s', async () => {
    const child = spawn(process.execPath, [cliPath, '--root', root, 'exec', '--join', 'c', POD, '--', 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await waitFor(() => out.includes('ready'), 15_000, 'the command to set its trap');
    child.kill('SIGTERM');
    expect(await exited).toBe(7);
    expect(out).toBe('ready\ngot-term\n');
  });

  it('gives the command piped input with -i, and its end, also when it reads it late', () => {
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'exec', '-i', '--join', 'c', POD, '--', 'sh', '-c', 'cat; echo end'], { input: 'line one\nline two\n', encoding: 'utf8', timeout: 30_000 });
    expect([r.status, r.stdout]).toEqual([0, 'line one\nline two\nend\n']);
    // Input the command reads only after writing 2 MB: the copy of its output must not wait on its full stdin pipe.
    const late = spawnSync(process.execPath, [cliPath, '--root', root, 'exec', '-i', '--join', 'c', POD, '--', 'sh', '-c', 'head -c 2000000 /dev/zero; wc -c'], { input: Buffer.alloc(1_000_000, 120), timeout: 30_000, killSignal: 'SIGKILL', maxBuffer: 8 << 20 });
    expect([late.status, late.stdout.length, late.stdout.subarray(2_000_000).toString().trim()]).toEqual([0, 2_000_008, '1000000']);
    const without = spawnSync(process.execPath, [cliPath, '--root', root, 'exec', '--join', 'c', POD, '--', 'sh', '-c', 'cat; echo end'], { input: 'not read\n', encoding: 'utf8', timeout: 30_000 });
    expect([without.status, without.stdout]).toEqual([0, 'end\n']);
  });
});

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

describe(`the helper while the command runs (${testMode})`, () => {
  // A regression: the signalfd could get fd 5, which the helper closes when no host program came, and its poll then spun at 100% CPU.
  it('waits for the command without spinning; a busy loop on the host, timed the same way, is the control', async () => {
    const busy = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    let busyTicks: number;
    try {
      await new Promise((r) => setTimeout(r, 800));
      busyTicks = cpuTicks(busy.pid!);
    } finally {
      busy.kill('SIGKILL'); // by pid, also when the reading failed
    }
    expect(busyTicks).toBeGreaterThan(30);

    const child = spawn(process.execPath, [cliPath, '--root', root, 'exec', POD, '--', 'sh', '-c', 'echo ready; sleep 1.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await waitFor(() => out.includes('ready'), 15_000, 'the command to start');
    const helper = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).map(Number).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nsbox-exec');
    expect(helper, 'the CLI runs its exec from nsbox-exec').toBeDefined();
    const before = cpuTicks(helper!);
    await new Promise((r) => setTimeout(r, 800));
    expect(cpuTicks(helper!) - before).toBeLessThan(10);
    expect(await exited).toBe(0);
  });
});
