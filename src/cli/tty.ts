// `exec -t`: the command makes a pty inside its own root (its devpts, so
// `tty` names it there) and sends us the master; we copy between our
// terminal and the master, in raw mode, and forward window size changes.
// The command never gets our own terminal.
import { read, writeSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { closeFd, receiveFd, setWinsize, socketPair } from '../native/ffi.js';

export interface TtyChannel {
  /** The socket end the command sends its pty master over. */
  childSocket: number;
  /** Our terminal's window size, for the command's terminal from the start. */
  size: { rows: number; cols: number };
  /** Once the command has started: the master, attached to our terminal. */
  attach(): AttachedTty;
  close(): void;
}

export interface AttachedTty {
  /** Resolves once every process has closed the terminal. */
  drain(): Promise<void>;
  close(): void;
}

export function openTtyChannel(interactive: boolean): TtyChannel {
  const pair = socketPair();
  if (pair.rc < 0) throw new NsboxError('PTY', `cannot create a socket pair for the terminal: ${errnoName(-pair.rc)}`, 'too many open files? raise `ulimit -n`');
  const [ours, theirs] = pair.fds;
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    closeFd(ours);
    closeFd(theirs);
  };
  return {
    childSocket: theirs,
    size: { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 },
    attach() {
      const master = receiveFd(ours);
      close();
      if (master < 0) throw new NsboxError('PTY', `the command's terminal did not arrive: ${errnoName(-master)}`, 'is /dev/pts mounted in the container?');
      return attachMaster(master, interactive);
    },
    close,
  };
}

function attachMaster(master: number, interactive: boolean): AttachedTty {
  const resize = () => setWinsize(master, process.stdout.rows ?? 24, process.stdout.columns ?? 80);
  resize();
  const stdin = process.stdin;
  const rawMode = interactive && stdin.isTTY;
  const onInput = (d: Buffer) => {
    try {
      writeSync(master, d);
    } catch {
      // the command is gone
    }
  };
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (rawMode) stdin.setRawMode(false);
    if (interactive) {
      stdin.off('data', onInput);
      stdin.pause();
    }
    process.off('SIGWINCH', resize);
    closeFd(master);
  };
  // Reads until the slave side is closed by every process (EIO).
  const output = new Promise<void>((resolve) => {
    const buf = Buffer.alloc(64 * 1024);
    const pump = () =>
      read(master, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) return resolve();
        process.stdout.write(buf.subarray(0, n), () => pump());
      });
    pump();
  });
  if (rawMode) stdin.setRawMode(true);
  if (interactive) {
    stdin.on('data', onInput);
    stdin.resume();
  }
  process.on('SIGWINCH', resize);
  return {
    async drain() {
      await output;
      close();
    },
    close,
  };
}
