// A real terminal for tests: a shell script runs with a new pty as its
// controlling terminal (python3's pty module), as a user's shell would, and
// the test plays the user at the keyboard. Each step waits until the output
// shows its marker (after the previous step's; '' means one second after the
// start), then types text or resizes the window. What the script then reads
// is what reached the "user's" side of the terminal.
import { spawnSync } from 'node:child_process';

const HARNESS = `
import fcntl, json, os, pty, select, signal, struct, sys, termios, time
script, steps, rows, cols, timeout = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
pid, master = pty.fork()
if pid == 0:
    os.execv('/bin/sh', ['sh', '-c', script])
fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
out, seen, start = b'', 0, time.time()
deadline = start + timeout
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
    if steps:
        marker, action, arg = steps[0]
        at = out.find(marker.encode(), seen) if marker else (seen if time.time() - start > 1.0 else -1)
        if at >= 0:
            steps.pop(0)
            seen = at + len(marker)
            if action == 'resize':
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', arg[0], arg[1], 0, 0))
                time.sleep(0.3)
                os.write(master, b'\\n')
            elif arg:
                os.write(master, arg.encode())
timed_out = time.time() >= deadline
if timed_out:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(124 if timed_out else os.waitstatus_to_exitcode(status) & 0xff)
`;

export interface PtyResult {
  /** The script's exit code; 124 when the harness killed it at the timeout. */
  code: number | null;
  /** Everything the terminal showed (CRLF turned into LF). */
  output: string;
}

/** One thing the user does once the output shows `when` ('' : one second after the start). */
export type PtyStep = { when: string; type: string } | { when: string; resize: [rows: number, cols: number] };

/** Quotes a word for sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `script` (sh) on a new pty of `size` that is its controlling terminal, doing `steps` in order. */
export function onTerminal(script: string, steps: PtyStep[], opts: { size?: [number, number]; timeoutMs?: number } = {}): PtyResult {
  const [rows, cols] = opts.size ?? [24, 80];
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const wire = steps.map((s) => ('resize' in s ? [s.when, 'resize', s.resize] : [s.when, 'type', s.type]));
  const r = spawnSync('python3', ['-c', HARNESS, script, JSON.stringify(wire), String(rows), String(cols), String(timeoutMs / 1000)], {
    encoding: 'utf8',
    timeout: timeoutMs + 5000,
  });
  if (r.error) throw r.error;
  if (r.stderr) throw new Error(`the pty harness failed: ${r.stderr}`);
  return { code: r.status, output: r.stdout.replace(/\r+\n/g, '\n') };
}

/** One step: when the output shows `when`, types `typed` (include the newline). */
export function runOnTerminal(script: string, opts: { when: string; typed: string; timeoutMs?: number }): PtyResult {
  return onTerminal(script, opts.when || opts.typed ? [{ when: opts.when, type: opts.typed }] : [], { timeoutMs: opts.timeoutMs });
}
