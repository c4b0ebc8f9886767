// A file tree as a tar stream and back, for `nsbox cp`, done through open
// directory fds one name at a time: every step names a single component
// below an fd it holds (/proc/self/fd/N/NAME) and never follows a link there
// (O_NOFOLLOW, lstat, readlink). So a tree that changes while it is read or
// written, a running container's, cannot lead the copy out of it: at worst a
// name is missed or refused. The same code packs and unpacks on both sides
// (inside the container's view, and on the host).
import { closeSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync, rmdirSync, symlinkSync, unlinkSync, writeSync, constants, type Stats } from 'node:fs';
import type { Readable } from 'node:stream';
import { Header, Parser, Pax, type ReadEntry } from 'tar';
import { NsboxError } from '../errors.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_NOCTTY } = constants;
const O_CLOEXEC = 0o2000000;
const CHUNK = 1 << 20;

/** The path of `name` in the directory open as `dirfd`: one component, resolved by the kernel below that fd. */
export function at(dirfd: number, name: string): string {
  if (!name || name === '.' || name === '..' || name.includes('/')) throw new Error(`not a single path component: ${JSON.stringify(name)}`);
  return `/proc/self/fd/${dirfd}/${name}`;
}

const lstatAt = (dirfd: number, name: string): Stats | null => {
  try {
    return lstatSync(at(dirfd, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
};

export function openDirAt(dirfd: number, name: string): number {
  return openSync(at(dirfd, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// ------------------------------------------------------------------ packing

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

function header(fields: { path: string; type: 'File' | 'Directory' | 'SymbolicLink'; st: Meta; size?: number; linkpath?: string }): Buffer[] {
  const h = new Header({
    path: fields.path,
    type: fields.type,
    mode: fields.st.mode & 0o7777,
    uid: fields.st.uid,
    gid: fields.st.gid,
    size: fields.size ?? 0,
    mtime: fields.st.mtime,
    linkpath: fields.linkpath ?? '',
    uname: '',
    gname: '',
  });
  const block = Buffer.alloc(512);
  h.encode(block);
  const out: Buffer[] = [];
  if (h.needPax) out.push(new Pax({ path: fields.path, linkpath: fields.linkpath, mtime: fields.st.mtime }).encode());
  out.push(block);
  return out;
}

function* fileBody(fd: number, size: number): Generator<Buffer> {
  // Exactly the size announced: a file that shrinks meanwhile is padded, one that grows is cut.
  let done = 0;
  while (done < size) {
    const buf = Buffer.alloc(Math.min(CHUNK, size - done));
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) {
      yield buf; // zeros
      done += buf.length;
      continue;
    }
    yield n === buf.length ? buf : buf.subarray(0, n);
    done += n;
  }
  if (size % 512) yield Buffer.alloc(512 - (size % 512));
}

export interface PackStats {
  entries: number;
  /** Sockets, FIFOs and devices: not copied. */
  skipped: number;
}

/** The tree under `fd` (a directory or a file, opened by the caller) as tar, its top entry named `top`. */
export function* packTree(fd: number, top: string, stats: PackStats = { entries: 0, skipped: 0 }): Generator<Buffer> {
  const st = fstatSync(fd);
  if (st.isFile()) {
    stats.entries++;
    yield* header({ path: top, type: 'File', st, size: st.size });
    yield* fileBody(fd, st.size);
  } else if (st.isDirectory()) {
    yield* packDir(fd, top, st, stats);
  } else {
    throw new NsboxError('CP_UNSUPPORTED', `${top} is neither a file nor a directory`, 'copy a regular file or a directory');
  }
  yield Buffer.alloc(1024);
}

function* packDir(dirfd: number, path: string, st: Stats, stats: PackStats): Generator<Buffer> {
  stats.entries++;
  yield* header({ path: `${path}/`, type: 'Directory', st });
  const prefix = `${path}/`;
  for (const name of readdirSync(`/proc/self/fd/${dirfd}`).sort()) {
    const child = lstatAt(dirfd, name);
    if (!child) continue; // gone meanwhile
    if (child.isSymbolicLink()) {
      stats.entries++;
      yield* header({ path: prefix + name, type: 'SymbolicLink', st: child, linkpath: readlinkSync(at(dirfd, name)) });
    } else if (child.isDirectory()) {
      let sub: number;
      try {
        sub = openDirAt(dirfd, name);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ELOOP' || (err as NodeJS.ErrnoException).code === 'ENOENT') continue; // replaced meanwhile
        throw err;
      }
      try {
        yield* packDir(sub, prefix + name, fstatSync(sub), stats);
      } finally {
        closeSync(sub);
      }
    } else if (child.isFile()) {
      let f: number;
      try {
        f = openSync(at(dirfd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ELOOP' || (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      try {
        const fst = fstatSync(f);
        if (!fst.isFile()) {
          stats.skipped++;
          continue;
        }
        stats.entries++;
        yield* header({ path: prefix + name, type: 'File', st: fst, size: fst.size });
        yield* fileBody(f, fst.size);
      } finally {
        closeSync(f);
      }
    } else {
      stats.skipped++;
    }
  }
}

/**
 * `name` in the directory `dirfd` as tar, top entry `top`: a link is packed
 * as the link (docker's cp without -L), a directory with all below it.
 */
export function* packAt(dirfd: number, name: string, top: string, shown = top, stats: PackStats = { entries: 0, skipped: 0 }): Generator<Buffer> {
  const st = lstatAt(dirfd, name);
  if (!st) throw new NsboxError('CP_NO_SUCH_FILE', `${shown}: no such file or directory`, 'check the path');
  if (st.isSymbolicLink()) {
    stats.entries++;
    yield* header({ path: top, type: 'SymbolicLink', st, linkpath: readlinkSync(at(dirfd, name)) });
    yield Buffer.alloc(1024);
    return;
  }
  const fd = st.isDirectory() ? openDirAt(dirfd, name) : openSync(at(dirfd, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  try {
    yield* packTree(fd, top, stats);
  } finally {
    closeSync(fd);
  }
}

/** One file of these bytes as tar (the library's copyTo of a Buffer). */
export function packBytes(top: string, bytes: Buffer, mode = 0o644): Buffer {
  const st = { mode, uid: 0, gid: 0, mtime: new Date() };
  return Buffer.concat([...header({ path: top, type: 'File', st, size: bytes.length }), bytes, Buffer.alloc((512 - (bytes.length % 512)) % 512), Buffer.alloc(1024)]);
}

// ---------------------------------------------------------------- unpacking

/** Where the stream's entries go, decided from its first entry (the top of what was packed). */
export interface Placement {
  /** The directory the entries are written below (the receiver closes it). */
  dirfd: number;
  /** The top entry's name there; null: its contents go into `dirfd` itself. */
  top: string | null;
}

export interface UnpackOptions {
  /** Called with the first entry: where to put the tree. Absent: entries go below `dirfd` as they are named. */
  place?: (first: { name: string; isDir: boolean }) => Placement;
  dirfd?: number;
  /** Keep the entries' uid/gid (cp -a); else the files belong to whoever unpacks. */
  keepOwners?: boolean;
}

function components(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new NsboxError('CP_UNSAFE', `the archive entry ${JSON.stringify(path)} climbs out with ..`, 'give an archive whose names stay below its top');
  return parts;
}

class Unpacker {
  private base: Placement | null = null;
  /** Open directories by their path below the base ('' is the base). */
  private readonly dirs = new Map<string, number>();
  private readonly dirTimes: { fd: number; mtime: Date }[] = [];
  failure: Error | null = null;
  entries = 0;

  constructor(private readonly opts: UnpackOptions) {
    if (opts.dirfd !== undefined) this.setBase({ dirfd: opts.dirfd, top: null });
  }

  private setBase(p: Placement): void {
    this.base = p;
    this.dirs.set('', p.dirfd);
  }

  /** The entry's path below the base, with the top renamed (or dropped) as placed. */
  private relative(parts: string[]): string[] {
    const top = this.base!.top;
    if (this.opts.place === undefined) return parts;
    // The packer names everything below its top: "top/…".
    const rest = parts.slice(1);
    return top === null ? rest : [top, ...rest];
  }

  /** The fd of directory `parts` below the base, made when missing; never through a link. */
  private dir(parts: string[]): number {
    const key = parts.join('/');
    const known = this.dirs.get(key);
    if (known !== undefined) return known;
    const parent = this.dir(parts.slice(0, -1));
    const name = parts[parts.length - 1]!;
    let st = lstatAt(parent, name);
    if (!st) {
      mkdirSync(at(parent, name), 0o755);
      st = lstatAt(parent, name);
    }
    if (!st?.isDirectory()) throw new NsboxError('CP_CONFLICT', `cannot write below ${key}: it is ${st?.isSymbolicLink() ? 'a symlink' : 'not a directory'}`, 'remove it first, or copy elsewhere');
    const fd = openDirAt(parent, name);
    this.dirs.set(key, fd);
    return fd;
  }

  /** Removes a non-directory at `name` so that the entry can take its place (docker overwrites). */
  private clearForFile(dirfd: number, name: string, entry: string): void {
    const st = lstatAt(dirfd, name);
    if (!st) return;
    if (st.isDirectory()) throw new NsboxError('CP_CONFLICT', `cannot overwrite the directory ${entry} with a file`, 'remove the directory first, or copy elsewhere');
    unlinkSync(at(dirfd, name));
  }

  entry(e: ReadEntry): void {
    if (this.failure) return void e.resume();
    try {
      this.handle(e);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      e.resume();
    }
  }

  private handle(e: ReadEntry): void {
    const parts = components(e.path);
    const isDir = e.type === 'Directory';
    if (!this.base) {
      if (parts.length > 1) throw new NsboxError('CP_BAD_ARCHIVE', 'the archive does not start with its top entry', 'this is a bug in nsbox cp');
      this.setBase(this.opts.place!({ name: parts[0] ?? '.', isDir }));
    }
    this.entries++;
    const rel = this.relative(parts);
    const mode = (e.mode ?? 0o644) & 0o7777;
    const own = (set: () => void) => {
      if (this.opts.keepOwners) set();
    };
    if (isDir) {
      const fd = this.dir(rel);
      if (rel.length > 0) fchmodSync(fd, mode);
      own(() => fchownSync(fd, e.uid ?? 0, e.gid ?? 0));
      if (e.mtime) this.dirTimes.push({ fd, mtime: e.mtime });
      return void e.resume();
    }
    if (rel.length === 0) throw new NsboxError('CP_CONFLICT', 'cannot put a file where the directory is', 'copy the file into a directory');
    const parent = this.dir(rel.slice(0, -1));
    const name = rel[rel.length - 1]!;
    const shown = rel.join('/');
    switch (e.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        this.clearForFile(parent, name, shown);
        const fd = openSync(at(parent, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600);
        e.on('data', (chunk: Buffer) => {
          for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
        });
        e.on('end', () => {
          try {
            own(() => fchownSync(fd, e.uid ?? 0, e.gid ?? 0));
            fchmodSync(fd, mode);
            if (e.mtime) futimesSync(fd, e.atime ?? e.mtime, e.mtime);
          } catch (err) {
            this.failure ??= err as Error;
          } finally {
            closeSync(fd);
          }
        });
        return;
      }
      case 'SymbolicLink':
        this.clearForFile(parent, name, shown);
        symlinkSync(e.linkpath ?? '', at(parent, name));
        own(() => lchownSync(at(parent, name), e.uid ?? 0, e.gid ?? 0));
        return void e.resume();
      case 'Link': {
        const target = this.relative(components(e.linkpath ?? ''));
        if (target.length === 0) throw new NsboxError('CP_UNSAFE', `the hard link ${shown} has no target`, 'give an archive without it');
        const tdir = this.dir(target.slice(0, -1));
        this.clearForFile(parent, name, shown);
        linkSync(at(tdir, target[target.length - 1]!), at(parent, name));
        return void e.resume();
      }
      default:
        // Devices, FIFOs: a user namespace cannot make devices; docker's cp skips sockets too.
        return void e.resume();
    }
  }

  finish(): void {
    for (const { fd, mtime } of this.dirTimes.reverse()) {
      try {
        futimesSync(fd, mtime, mtime);
      } catch {
        // best effort, as tar's
      }
    }
    for (const [key, fd] of this.dirs) if (key !== '' || this.opts.dirfd === undefined) closeSync(fd);
    this.dirs.clear();
  }
}

/** Unpacks a tar stream; resolves with the number of entries. */
export async function unpackTree(input: Readable, opts: UnpackOptions): Promise<number> {
  const u = new Unpacker(opts);
  const parser = new Parser({ strict: true });
  let parseError: Error | null = null;
  parser.on('entry', (e: ReadEntry) => u.entry(e));
  parser.on('error', (err: Error) => (parseError ??= err));
  const ended = new Promise<void>((r) => {
    for (const ev of ['end', 'close', 'error']) parser.on(ev, () => r());
  });
  try {
    let stopped = false;
    for await (const chunk of input) {
      const ok = parser.write(chunk as Buffer);
      if (u.failure || parseError) {
        stopped = true;
        break;
      }
      if (!ok) await new Promise((r) => parser.once('drain', r));
    }
    if (!stopped) {
      parser.end();
      await ended;
    }
  } finally {
    u.finish();
  }
  if (u.failure) throw u.failure;
  if (parseError) throw new NsboxError('CP_BAD_ARCHIVE', `the tar stream is not valid: ${(parseError as Error).message}`, 'give a tar archive (uncompressed)');
  return u.entries;
}

/** For callers that must remove an empty directory they made when the copy failed. */
export function removeEmptyDirAt(dirfd: number, name: string): void {
  try {
    rmdirSync(at(dirfd, name));
  } catch {
    // not empty, or gone
  }
}
