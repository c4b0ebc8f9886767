// A real terminal for tests: a shell script runs with a new pty as its
// controlling terminal (python3's pty module), as a user's shell would, and
// the test plays the user at the keyboard: once the output shows a marker,
// it types a line. What the script then reads is what reached the "user's"
// side of the terminal.
import { spawnSync } from 'node:child_process';

const HARNESS = `
import os, pty, select, signal, sys, time
script, when, typed, timeout = sys.argv[1], sys.argv[2].encode(), sys.argv[3].encode(), float(sys.argv[4])
pid, master = pty.fork()
if pid == 0:
    os.execv('/bin/sh', ['sh', '-c', script])
out, sent, deadline = b'', False, time.time() + timeout
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.1)
    if ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
    if not sent and when and when in out:
        os.write(master, typed)
        sent = True
timed_out = time.time() >= deadline
if timed_out:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(124 if timed_out else os.waitstatus_to_exitcode(status) & 0xff)
`;

export interface PtyResult {
  code: number | null;
  /** Everything the terminal showed (CRLF turned into LF). */
  output: string;
}

/** Quotes a word for sh. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `script` (sh) on a new pty that is its controlling terminal; when the
 * output shows `when`, types `typed` (include the newline) into it.
 */
export function runOnTerminal(script: string, opts: { when: string; typed: string; timeoutMs?: number }): PtyResult {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const r = spawnSync('python3', ['-c', HARNESS, script, opts.when, opts.typed, String(timeoutMs / 1000)], {
    encoding: 'utf8',
    timeout: timeoutMs + 5000,
  });
  if (r.error) throw r.error;
  if (r.stderr) throw new Error(`the pty harness failed: ${r.stderr}`);
  return { code: r.status, output: r.stdout.replace(/\r\n/g, '\n') };
}
