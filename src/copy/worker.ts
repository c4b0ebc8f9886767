// `nsbox cp`'s side inside the container's files: runs as root of a user
// namespace with the pod's id mapping (so every file of the container is
// readable and writable as its owner sees it), outside the container's
// namespaces (it cannot reach this process). The container's root comes as
// fd 3 (a running container's /proc/PID/root, opened by the caller) or as a
// path (a stopped container's overlay, mounted in this process's own mount
// namespace). Every path inside is resolved with that root as its root
// (openat2 RESOLVE_IN_ROOT), and every step below it through fds
// (tree.ts). argv[2] is the job; the tar comes on stdin or goes to
// stdout; a failure is one JSON line on stderr.
import { closeSync, openSync, writeSync, constants } from 'node:fs';
import { createReadStream } from 'node:fs';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { openInRoot } from '../native/ffi.js';
import { packAt, packTree, unpackTree } from './tree.js';
import { placeOnto, splitPath, type PathOpener } from './place.js';
import { statInRoot } from './stat.js';

export type CopyJob =
  | { op: 'in'; rootPath?: string; dst: string; contentsOnly: boolean; stream: boolean; keepOwners: boolean }
  | { op: 'out'; rootPath?: string; src: string; top: string }
  | { op: 'stat'; rootPath?: string; path: string };

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

async function main(job: CopyJob): Promise<void> {
  const rootfd = job.rootPath ? openSync(job.rootPath, constants.O_RDONLY | constants.O_DIRECTORY) : 3;
  const open: PathOpener = (path, flags) => openInRoot(rootfd, path, flags);
  if (job.op === 'in') {
    const input = createReadStream('', { fd: 0, highWaterMark: 1 << 20 });
    if (job.stream) {
      const dirfd = open(job.dst, constants.O_RDONLY | constants.O_DIRECTORY);
      if (dirfd < 0) throw new NsboxError(dirfd === -20 ? 'CP_NOT_A_DIRECTORY' : 'CP_NO_SUCH_DIRECTORY', `${job.dst}: ${dirfd === -20 ? 'not a directory' : 'no such directory'} in the container`, 'a tar stream is unpacked into a directory that exists');
      await unpackTree(input, { dirfd, keepOwners: job.keepOwners });
      closeSync(dirfd);
    } else {
      await unpackTree(input, { place: placeOnto(open, job.dst, job.dst, job.contentsOnly), keepOwners: job.keepOwners });
    }
    return;
  }
  if (job.op === 'stat') return writeAll(1, Buffer.from(JSON.stringify(statInRoot(open, job.path))));
  const { dir, name } = splitPath(job.src);
  const dirfd = open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  if (dirfd < 0) throw new NsboxError('CP_NO_SUCH_FILE', `${job.src}: no such file or directory in the container (${errnoName(-dirfd)})`, 'check the path (nsbox exec … ls)');
  const tar = name === null ? packTree(dirfd, job.top) : packAt(dirfd, name, job.top, `${job.src} in the container`);
  for (const chunk of tar) writeAll(1, chunk);
}

const job = JSON.parse(process.argv[2] ?? '{}') as CopyJob;
main(job).then(
  () => process.exit(0),
  (err: unknown) => {
    const e = err instanceof NsboxError ? err : new NsboxError('CP_FAILED', `copy failed: ${(err as Error).message}`, 'check the paths and that the container still exists');
    writeAll(2, Buffer.from(JSON.stringify({ code: e.code, message: e.message, hint: e.hint }) + '\n'));
    process.exit(1);
  },
);
