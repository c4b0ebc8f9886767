// Where `cp` puts what it copies, by docker's rules, on either side:
//   a file onto an existing file replaces it; into a directory it keeps its name;
//   onto a missing path it takes that name (a missing path ending in / is refused);
//   a directory into an existing directory keeps its name (DIR/. copies its contents);
//   onto a missing path it becomes that directory; onto a file it is refused.
// Paths are opened through `open` (inside a container's root, or on the host).
import { closeSync, constants, fstatSync } from 'node:fs';
import { posix } from 'node:path';
import { NsboxError } from '../errors.js';
import type { Placement } from './tree.js';

export const O_PATH = 0o10000000;

/** Opens a path with these flags; the fd, or -errno. */
export type PathOpener = (path: string, flags: number) => number;

/** The directory part and last name of a path ("/" has none: it is the directory itself). */
export function splitPath(path: string): { dir: string; name: string | null } {
  const clean = posix.normalize(path).replace(/\/+$/, '');
  if (clean === '' || clean === '/') return { dir: '/', name: null };
  return { dir: posix.dirname(clean), name: posix.basename(clean) };
}

function kindOf(open: PathOpener, path: string): 'dir' | 'other' | null {
  const fd = open(path, O_PATH);
  if (fd < 0) return null;
  try {
    return fstatSync(fd).isDirectory() ? 'dir' : 'other';
  } finally {
    closeSync(fd);
  }
}

function openDir(open: PathOpener, path: string, what: string): number {
  const fd = open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  if (fd < 0) throw new NsboxError('CP_NO_SUCH_DIRECTORY', `${what}: no such directory: ${path}`, 'create it first, or copy to a directory that exists');
  return fd;
}

/**
 * The placement for a copy onto `dst` (shown as `shown` in errors), decided
 * once the first entry says whether a file or a directory comes.
 * `contentsOnly`: the source was DIR/. (its contents merge into dst).
 */
export function placeOnto(open: PathOpener, dst: string, shown: string, contentsOnly: boolean): (first: { name: string; isDir: boolean }) => Placement {
  return (first) => {
    const kind = kindOf(open, dst);
    const { dir, name } = splitPath(dst);
    if (kind === 'dir') {
      const fd = openDir(open, dst, shown);
      return { dirfd: fd, top: first.isDir && contentsOnly ? null : first.name };
    }
    if (kind === 'other') {
      if (first.isDir) throw new NsboxError('CP_CONFLICT', `cannot copy a directory onto the file ${shown}`, 'give a directory, or a path that does not exist yet');
      return { dirfd: openDir(open, dir, shown), top: name! };
    }
    if (dst.endsWith('/') && !first.isDir) throw new NsboxError('CP_NO_SUCH_DIRECTORY', `${shown}: no such directory`, 'create the directory first, or drop the trailing /');
    if (name === null) throw new NsboxError('CP_NO_SUCH_DIRECTORY', `${shown}: no such directory`, 'copy to a directory that exists');
    return { dirfd: openDir(open, dir, shown), top: name };
  };
}

/** Whether a source path asks for a directory's contents (docker's SRC/.). */
export function isContentsOnly(src: string): boolean {
  return src === '.' || src.endsWith('/.');
}
