// A socket pair over which a process we start sends one fd back (its mount
// namespace, its terminal's master): `theirs` goes into its plan, `receive`
// takes the fd once the process has run its step (fd, or -errno).
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { closeFd, receiveFd, socketPair } from '../native/ffi.js';

export interface FdChannel {
  theirs: number;
  /** The fd sent, or -errno; closes both ends. */
  receive(): number;
  close(): void;
}

export function fdChannel(what: string): FdChannel {
  const pair = socketPair();
  if (pair.rc < 0) throw new NsboxError('SOCKET', `cannot create a socket pair for ${what}: ${errnoName(-pair.rc)}`, 'too many open files? raise `ulimit -n`');
  const [ours, theirs] = pair.fds;
  let open = true;
  const close = () => {
    if (open) (closeFd(ours), closeFd(theirs));
    open = false;
  };
  return {
    theirs,
    receive() {
      const fd = receiveFd(ours);
      close();
      return fd;
    },
    close,
  };
}
