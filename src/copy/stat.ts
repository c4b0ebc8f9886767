// What docker's archive endpoints say about a path before they copy it
// (the X-Docker-Container-Path-Stat header): its name, size, mode in Go's
// os.FileMode bits, mtime, and, for a symlink, where it leads. Runs in the
// copy worker, so every lookup goes through `open` (openat2 RESOLVE_IN_ROOT)
// and one name at a time below an fd: a link to /../../etc leads to the
// container's /etc, never the host's.
import { closeSync, constants, fstatSync, lstatSync, readlinkSync, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { O_PATH, splitPath, type PathOpener } from './place.js';
import { at } from './tree.js';

export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode: permission bits, and the type in the high bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Go's os.FileMode type bits (they are above 2^31, so plain numbers, not bit operations). */
const GO = { dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, pipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23, setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20 };

export function goFileMode(st: Stats): number {
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += GO.dir;
  else if (st.isSymbolicLink()) mode += GO.symlink;
  else if (st.isFIFO()) mode += GO.pipe;
  else if (st.isSocket()) mode += GO.socket;
  else if (st.isCharacterDevice()) mode += GO.device + GO.charDevice;
  else if (st.isBlockDevice()) mode += GO.device;
  if (st.mode & 0o4000) mode += GO.setuid;
  if (st.mode & 0o2000) mode += GO.setgid;
  if (st.mode & 0o1000) mode += GO.sticky;
  return mode;
}

const MAX_LINKS = 40; // the kernel's limit

/** `path` with every symlink on it resolved inside the root, as an absolute path there (missing tails stay as given). */
export function resolveInRoot(open: PathOpener, path: string): string {
  const todo = path.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let hops = 0;
  while (todo.length) {
    const part = todo.shift()!;
    if (part === '..') {
      done.pop(); // .. of the root is the root
      continue;
    }
    const dirfd = open(`/${done.join('/')}`, constants.O_RDONLY | constants.O_DIRECTORY);
    if (dirfd < 0) return posix.join('/', ...done, part, ...todo);
    let target: string | null = null;
    try {
      const st = lstatSync(at(dirfd, part), { throwIfNoEntry: false });
      if (st?.isSymbolicLink()) target = readlinkSync(at(dirfd, part));
    } finally {
      closeSync(dirfd);
    }
    if (target === null) {
      done.push(part);
      continue;
    }
    if (++hops > MAX_LINKS) throw new NsboxError('CP_NO_SUCH_FILE', `${path}: too many levels of symbolic links in the container`, 'check the links on that path');
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return `/${done.join('/')}`;
}

/** docker's stat of `path`: the last component is not followed (a trailing / follows it, as the kernel does). */
export function statInRoot(open: PathOpener, path: string): PathStat {
  const fd = open(path, O_PATH | constants.O_NOFOLLOW);
  if (fd < 0) throw new NsboxError('CP_NO_SUCH_FILE', `Could not find the file ${path} in container (${errnoName(-fd)})`, 'check the path (docker exec … ls)');
  let st: Stats;
  try {
    st = fstatSync(fd);
  } finally {
    closeSync(fd);
  }
  const name = splitPath(path).name ?? '/';
  return { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget: st.isSymbolicLink() ? resolveInRoot(open, path) : '' };
}
