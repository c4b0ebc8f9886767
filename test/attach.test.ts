// Attaching to containers of detached pods, as docker's attach: the pod's
// keeper holds the container's stdin pipe or terminal master and relays it
// to every attacher (raw bytes, not the log's JSON), takes input and window
// sizes, and ends each attachment with the exit code. Real processes, real
// ptys: the user's side is a python pty, as in exec-tty.test.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, getContainer } from '../dist/index.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { onTerminal, shq } from './helpers/pty.js';
import { DetachWatcher, parseDetachKeys } from '../src/core/detach-keys.js';
import { attachFrame } from '../src/keeper/attach.js';
import { reachable } from '../src/keeper/client.js';
import { frame } from '../src/keeper/frames.js';
import { statePaths } from '../src/state/paths.js';

let root: string;
const cli = (...args: string[]) => [process.execPath, cliPath, '--root', root, ...args].map(shq).join(' ');
const status = (ref: string) => nsbox(root, ['inspect', ref, '--format', '{{.State.Status}} {{.State.ExitCode}}']).stdout.trim();

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', 'P']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`attach (${testMode})`, () => {
  it('attach to a running -dit shell: a live terminal of our size, ctrl-p ctrl-q leaves it running, its exit code is ours', () => {
    expect(nsbox(root, ['run', '-dit', '--pod', 'P', '--name', 'sh1', 'busybox', 'sh']).stdout).toBe('P/sh1\n');
    expect(nsbox(root, ['inspect', 'P/sh1', '--format', '{{.Config.OpenStdin}} {{.Config.Tty}} {{.Config.StdinOnce}}']).stdout).toBe('true true false\n');
    const first = onTerminal(`${cli('attach', 'P/sh1')}; echo "cli-rc=$?"`, [{ when: '', type: 'stty size; tty; echo mark-$((6*7))\r' }, { when: 'mark-42', type: '\x10\x11' }], { size: [30, 100] });
    expect(first.output, first.output).toMatch(/^30 100$/m);
    expect(first.output, first.output).toMatch(/^\/dev\/pts\/0$/m);
    expect(first.output, first.output).toContain('cli-rc=0');
    // Detached, not ended: it runs on, with its terminal.
    expect(status('P/sh1')).toBe('running 0');
    const second = onTerminal(`${cli('attach', 'P/sh1')}; echo "cli-rc=$?"`, [{ when: '', type: 'echo again-$((1+1)); exit 7\r' }], { size: [24, 80] });
    expect(second.output, second.output).toContain('again-2');
    expect(second.output, second.output).toContain('cli-rc=7');
    expect(status('P/sh1')).toBe('exited 7');
    // Its output is also in its log.
    expect(nsbox(root, ['logs', 'P/sh1']).stdout).toContain('again-2');
  });

  it('run -i --pod P with piped stdin passes it to its end, and exits with the container code; without -i nothing is read (the control)', () => {
    const r = nsbox(root, ['run', '-i', '--pod', 'P', '--name', 'cat1', 'busybox', 'sh', '-c', 'cat; echo to-stderr >&2; exit 3'], { input: 'line one\nline two\n' });
    expect(r.stdout).toBe('line one\nline two\n');
    expect(r.stderr).toBe('to-stderr\n');
    expect(r.code).toBe(3);
    const none = nsbox(root, ['run', '--pod', 'P', '--name', 'cat2', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'never read\n' });
    expect(none.stdout).toBe('end\n');
    expect(nsbox(root, ['logs', 'P/cat1']).stdout).toBe('line one\nline two\n');
  });

  it('run -it --pod P: its terminal has our size, typed input arrives, its exit code is ours', () => {
    const r = onTerminal(`${cli('run', '-it', '--rm', '--pod', 'P', 'busybox', 'sh', '-c', 'stty size; echo ready; read l; echo "got:$l"; exit 5')}; echo "cli-rc=$?"`, [{ when: 'ready', type: 'typed\r' }], { size: [33, 101] });
    expect(r.output, r.output).toMatch(/^33 101$/m);
    expect(r.output, r.output).toMatch(/^got:typed$/m);
    expect(r.output, r.output).toContain('cli-rc=5');
  });

  it('the library: attach before start sees the first output, two attachers both see it, the exit code ends both', async () => {
    const pod = await createPod({ root, name: 'lib', detached: true });
    pod.dataRoot = root;
    try {
      const c = await pod.create('busybox', { name: 'two', command: ['sh', '-c', 'echo first; read x; echo "got:$x"; exit 9'], openStdin: true, stdinOnce: true });
      expect(c.record().state).toBe('created');
      const a = await c.attach();
      const b = await c.attach({ stdin: false });
      let outA = '';
      let outB = '';
      a.stdout.on('data', (d: Buffer) => (outA += d));
      b.output.on('data', (d: Buffer) => (outB += d));
      await c.start();
      a.stdin!.end('hello\n');
      expect(await a.exited).toBe(9);
      expect(await b.exited).toBe(9);
      expect(outA).toBe('first\ngot:hello\n');
      expect(outB).toBe('first\ngot:hello\n');
      expect(b.stdin).toBeNull();
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('an attacher that writes after the container has exited still gets its output and exit code (the keeper shuts its side, it does not reset it)', async () => {
    const pod = await createPod({ root, name: 'late', detached: true });
    pod.dataRoot = root;
    try {
      const c = await pod.create('busybox', { name: 'l', command: ['sh', '-c', 'echo first; exit 9'], openStdin: true });
      // The keeper's attach stream by hand, so that nothing is read while the container runs and exits.
      const reach = reachable(statePaths.podSocket(root, pod.id));
      const sock = connect(reach.path);
      sock.write(frame('attach l 7'));
      const answer = await new Promise<Buffer>((ok, fail) => (sock.once('data', ok), sock.once('error', fail)));
      reach.done();
      sock.pause();
      expect(answer.subarray(4).toString()).toMatch(/^ok 1 /);
      await c.start();
      for (let i = 0; i < 500 && c.record().state !== 'exited'; i++) await new Promise((ok) => setTimeout(ok, 10));
      expect(c.record().state).toBe('exited');
      // Input that arrives late, as an attacher's stdin under load does: once the keeper has told the exit code.
      const input = attachFrame('d', Buffer.from('late\n'));
      const chunks: Buffer[] = [];
      const errors: string[] = [];
      sock.on('error', (e) => errors.push(e.message));
      sock.on('data', (d: Buffer) => chunks.push(d));
      const closed = new Promise((ok) => sock.once('close', ok));
      sock.write(input);
      sock.resume();
      await closed;
      const frames: string[] = [];
      for (let b = Buffer.concat(chunks); b.length >= 4; b = b.subarray(4 + b.readUInt32LE(0))) frames.push(`${String.fromCharCode(b[4]!)}${b.subarray(5, 4 + b.readUInt32LE(0))}`);
      expect(errors).toEqual([]);
      expect(frames).toEqual(['\x01first\n', 'x9']);
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('binary output reaches the attacher byte for byte (the log, JSON text, does not keep it: the control)', async () => {
    const pod = await createPod({ root, name: 'bin', detached: true });
    pod.dataRoot = root;
    try {
      const c = await pod.create('busybox', { name: 'b', command: ['cat', '/bin/busybox'] });
      const a = await c.attach({ logs: true });
      const chunks: Buffer[] = [];
      a.stdout.on('data', (d: Buffer) => chunks.push(d));
      await c.start();
      expect(await a.exited).toBe(0);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      const want = readFileSync('/bin/busybox');
      expect(Buffer.concat(chunks).length).toBe(want.length);
      expect(sha(Buffer.concat(chunks))).toBe(sha(want));
      expect(sha(Buffer.from(c.logs().stdout, 'utf8'))).not.toBe(sha(want));
    } finally {
      await pod.remove({ force: true });
    }
  });

  it('resize from the library reaches its terminal; logs: true replays what came before', async () => {
    expect(nsbox(root, ['run', '-dit', '--pod', 'P', '--name', 'sz', 'busybox', 'sh', '-c', 'echo before; read x; stty size; exit 0']).code).toBe(0);
    const c = getContainer('P/sz', { root });
    await new Promise((r) => setTimeout(r, 300));
    const a = await c.attach({ logs: true });
    let out = '';
    a.output.on('data', (d: Buffer) => (out += d));
    await c.resize(120, 50);
    a.stdin!.write('\r');
    expect(await a.exited).toBe(0);
    expect(out).toMatch(/^before\r?\n/);
    expect(out).toMatch(/50 120/);
  });

  it('bad input: an exited or unknown container, bad detach keys, each one line with exit 125', () => {
    expect(nsbox(root, ['run', '--pod', 'P', '--name', 'done', 'busybox', 'true']).code).toBe(0);
    for (const args of [['attach', 'P/done'], ['attach', 'P/nosuch'], ['attach', '--detach-keys', 'ctrl-', 'P/sh1']]) {
      const r = nsbox(root, args);
      expect(isOneLineRefusal(r), `${args.join(' ')}: ${r.code} ${r.stderr}`).toBe(true);
    }
    expect(nsbox(root, ['attach', 'P/done']).stderr).toMatch(/it is exited/);
  });
});

describe('detach keys (pure)', () => {
  it("docker's format; a sequence split across reads detaches, a broken one passes its bytes on (the control)", () => {
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual([16, 17]);
    expect(parseDetachKeys('ctrl-a,d')).toEqual([1, 100]);
    expect(parseDetachKeys('ctrl-')).toBeNull();
    const w = new DetachWatcher([16, 17]);
    expect(w.feed(Buffer.from('ab\x10'))).toEqual({ pass: Buffer.from('ab'), detach: false });
    expect(w.feed(Buffer.from('\x11'))).toEqual({ pass: Buffer.alloc(0), detach: true });
    const broken = new DetachWatcher([16, 17]);
    expect(broken.feed(Buffer.from('\x10x\x10\x10\x11'))).toEqual({ pass: Buffer.from('\x10x\x10'), detach: true });
  });
});
