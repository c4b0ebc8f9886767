// Foreground `run -i` and `run -t`, as docker's: -i gives the container what
// this process reads on stdin (without it, stdin is empty); -t gives it a
// terminal of its own, made inside it and relayed to ours (raw mode, so
// Ctrl-C reaches the container's shell as a character and its trap fires),
// never our own terminal; the CLI exits with the container's code.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { runOnTerminal, shq } from './helpers/pty.js';

let root: string;

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

const cliLine = (...args: string[]) => [process.execPath, cliPath, '--root', root, ...args].map(shq).join(' ');

describe(`run -i / -t (${testMode})`, () => {
  it('-i passes stdin through, to its end; without -i the container reads nothing (the control)', () => {
    const r = spawnSync(process.execPath, [cliPath, '--root', root, 'run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo end; exit 3'], { input: 'line one\nline two\n', encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toBe('line one\nline two\nend\n');
    expect(r.status).toBe(3);
    const none = spawnSync(process.execPath, [cliPath, '--root', root, 'run', '--rm', 'busybox', 'sh', '-c', 'cat; echo end'], { input: 'never read\n', encoding: 'utf8', timeout: 30_000 });
    expect(none.stdout).toBe('end\n');
    // An attached run's pod lived in the CLI: nothing is left.
    expect(nsbox(root, ['ps', '-a', '-q']).stdout).toBe('');
    expect(nsbox(root, ['pod', 'ls', '-q']).stdout).toBe('');
  });

  it('-it: a terminal of its own inside the container, typed input arrives, and the size is ours', () => {
    const script = `stty rows 33 cols 101; exec ${cliLine('run', '-it', 'busybox', 'sh', '-c', 'tty; ls /dev/pts | tr "\\n" " "; echo; [ -t 0 ] && echo stdin-is-a-tty; stty size; read line; echo "got:$line"')}`;
    const r = runOnTerminal(script, { when: 'stdin-is-a-tty', typed: 'typed text\r' });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^\/dev\/pts\/0$/m);
    expect(r.output).toMatch(/^0 ptmx $/m); // only its own pty in its /dev/pts
    expect(r.output).toMatch(/^33 101$/m);
    expect(r.output).toMatch(/^got:typed text$/m);
  });

  it("-it: Ctrl-C reaches the container's shell through its terminal, its trap fires, and its exit code is ours", () => {
    const script = `exec ${cliLine('run', '-it', 'busybox', 'sh', '-c', 'trap "echo trapped; exit 7" INT; echo ready; while :; do sleep 0.1; done')}`;
    const r = runOnTerminal(script, { when: 'ready', typed: '\x03' });
    expect(r.output).toMatch(/trapped/);
    expect(r.code).toBe(7);
  });

  it('-i/-t with -d or with --pod go to the pod\'s keeper (attach.test.ts), and the library pod is left out: a detached pod stays', () => {
    expect(nsbox(root, ['pod', 'create', '--name', 'shared']).code).toBe(0);
    const d = nsbox(root, ['run', '-d', '-i', '--name', 'own', 'busybox', 'true']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toBe('own\n');
    const p = nsbox(root, ['run', '-i', '--pod', 'shared', '--rm', 'busybox', 'sh', '-c', 'cat; exit 2'], { input: 'x\n' });
    expect(p.stdout).toBe('x\n');
    expect(p.code).toBe(2);
    expect(nsbox(root, ['rm', '-f', 'own']).code).toBe(0);
    // A bad option is still one line (the control for the helper).
    expect(isOneLineRefusal(nsbox(root, ['run', '-i', '--pod', 'nosuch', 'busybox', 'true']))).toBe(true);
  });
});
