// run -i / -t in the foreground: the ends this process keeps of a
// container's stdin (a pipe) or terminal (made inside the container; its
// master comes back on a socket), as `exec -i/-t` has them. The container
// never gets this process's own terminal or fds.
import { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { closeFd, pipe } from '../native/ffi.js';
import { fdChannel } from '../process/fd-channel.js';
import type { Attach } from '../container/manager.js';
import { terminalOf, type ExecTerminal } from './exec.js';

export interface AttachEnds {
  /** What runContainer passes to the container. */
  attach: Attach;
  /** Once it runs: its terminal (-t), or a writable for its stdin (-i). */
  opened(): { terminal: (ExecTerminal & { close(): Promise<void> }) | null; stdin: Socket | null };
  /** Closes what the container did not take (after a failed start too). */
  close(): void;
}

export function openAttach(opts: { stdin: boolean; tty: { rows: number; cols: number } | null }): AttachEnds {
  if (opts.tty) {
    const channel = fdChannel("the container's terminal");
    return {
      attach: { terminal: { socketFd: channel.theirs, ...opts.tty } },
      opened() {
        const master = channel.receive();
        if (master < 0) throw new NsboxError('PTY', `the container's terminal did not arrive: ${errnoName(-master)}`, 'is /dev/pts mounted in the container?');
        return { terminal: terminalOf(master), stdin: null };
      },
      close: channel.close,
    };
  }
  const p = pipe();
  if (p.rc < 0) throw new NsboxError('PIPE', `pipe2: ${errnoName(-p.rc)}`, 'too many open files? raise `ulimit -n`');
  let readOpen = true;
  return {
    attach: { stdin: p.read },
    opened() {
      closeFd(p.read);
      readOpen = false;
      const w = new Socket({ fd: p.write, readable: false, writable: true });
      w.on('error', () => {}); // the container stopped reading
      return { terminal: null, stdin: w };
    },
    close() {
      if (readOpen) (closeFd(p.read), closeFd(p.write));
      readOpen = false;
    },
  };
}
