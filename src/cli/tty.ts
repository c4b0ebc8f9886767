// `exec -t`: a pty whose slave becomes the command's controlling terminal;
// we copy between our terminal and the master, in raw mode, and forward
// window size changes.
import { read, writeSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { errnoName } from '../native/errno.js';
import { closeFd, openPty, setWinsize } from '../native/ffi.js';

export interface AttachedTty {
  slave: number;
  started(): void;
  drain(): Promise<void>;
  close(): void;
}

export function attachTty(interactive: boolean): AttachedTty {
  const rows = process.stdout.rows ?? 24;
  const cols = process.stdout.columns ?? 80;
  const pty = openPty(rows, cols);
  if (pty.rc < 0) throw new NsboxError('PTY', `cannot allocate a pseudo-terminal: ${errnoName(-pty.rc)}`, 'is /dev/pts mounted and /dev/ptmx accessible?');
  const master = pty.master;
  let slave = pty.slave;
  const stdin = process.stdin;
  const rawMode = interactive && stdin.isTTY;
  const onResize = () => setWinsize(master, process.stdout.rows ?? rows, process.stdout.columns ?? cols);
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
    process.off('SIGWINCH', onResize);
    if (slave >= 0) closeFd(slave);
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
  return {
    slave,
    started() {
      closeFd(slave);
      slave = -1;
      if (rawMode) stdin.setRawMode(true);
      if (interactive) {
        stdin.on('data', onInput);
        stdin.resume();
      }
      process.on('SIGWINCH', onResize);
    },
    async drain() {
      await output;
      close();
    },
    close,
  };
}
