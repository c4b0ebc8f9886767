// `exec -t` on a real terminal: the command's terminal (made inside the pod)
// starts with the caller's window size and follows it when the user resizes
// the window; Ctrl-C typed by the user reaches the command, not nsbox.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { shq } from './helpers/pty.js';

// A user at a terminal: the script runs on a new pty of the given size; each
// time the output shows the next marker, the harness does that step: resize
// the window ("resize ROWS COLS") or type text.
const HARNESS = `
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
script, steps, rows, cols = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pid, master = pty.fork()
if pid == 0:
    os.execv('/bin/sh', ['sh', '-c', script])
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out, deadline = b'', time.time() + 30
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.05)
    if ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if steps and steps[0][0].encode() in out:
        marker, action, arg = steps.pop(0)
        out = out.replace(marker.encode(), b'<' + marker.encode() + b'>', 1)
        if action == 'resize':
            r, c = arg
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
            time.sleep(0.3)
            os.write(master, b'\\n')
        else:
            os.write(master, arg.encode())
if time.time() >= deadline:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
`;

type Step = [marker: string, action: 'resize', size: [number, number]] | [marker: string, action: 'type', text: string];

function onTerminal(script: string, steps: Step[], size: [number, number]): { code: number | null; output: string } {
  const r = spawnSync('python3', ['-c', HARNESS, script, JSON.stringify(steps), String(size[0]), String(size[1])], { encoding: 'utf8', timeout: 40_000 });
  if (r.error) throw r.error;
  return { code: r.status, output: r.stdout.replace(/\r+\n/g, '\n') };
}

let root: string;
const cli = (...args: string[]) => [process.execPath, cliPath, '--root', root, ...args].map(shq).join(' ');

beforeAll(() => {
  root = tempRoot();
  expect(nsbox(root, ['pod', 'create', '--name', 'tty']).code).toBe(0);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`exec -t on a terminal (${testMode})`, () => {
  it("starts with the caller's window size and follows a resize", () => {
    const inner = 'stty size; echo "first-done"; read x; stty size; echo "second-done"';
    const r = onTerminal(cli('exec', '-it', 'tty', '--', 'sh', '-c', inner), [['first-done', 'resize', [41, 123]]], [30, 100]);
    expect(r.output, r.output).toMatch(/30 100\n<first-done>/);
    expect(r.output, r.output).toMatch(/41 123\n<?second-done/);
    expect(r.code).toBe(0);
  });

  it('passes Ctrl-C to the command as its terminal sends it, and exits with its code', () => {
    const inner = 'trap "echo got-sigint; exit 42" INT; echo "armed"; while :; do sleep 0.1; done';
    const r = onTerminal(cli('exec', '-it', 'tty', '--', 'sh', '-c', inner) + '; echo "cli-rc=$?"', [['armed', 'type', '\x03']], [24, 80]);
    expect(r.output, r.output).toContain('got-sigint');
    expect(r.output, r.output).toContain('cli-rc=42');
  });
});
