// Writes the entries of one layer tar into a directory in overlayfs lower-dir
// format, refusing anything that would write outside it. Runs inside the user
// namespace (extract-worker.ts), so owners are set as the tar says.
//
// Rules:
// - an entry path that is absolute or has a `..` component is refused;
// - every parent of an entry must be a real directory made by this layer:
//   lstat, never stat, so a symlink planted by an earlier entry is never
//   followed (`evil -> /etc` then `evil/passwd` is refused); files are opened
//   O_CREAT|O_EXCL|O_NOFOLLOW after removing what was there;
// - a symlink may point anywhere *absolute* (it is resolved inside the
//   container's root, as Docker allows), but a relative target that climbs
//   above the layer root is refused (`x -> ../../etc`);
// - a hard link must name an earlier entry of this layer that is not a
//   directory; a hard link to a symlink becomes a copy of that symlink;
// - `.wh.NAME` becomes a 0/0 character device (an overlayfs whiteout), and
//   `.wh..wh..opq` sets user.overlay.opaque=y on its directory: whatever the
//   tar order, since the marker is an xattr and entries of the same layer
//   in that directory are kept;
// - device nodes and FIFOs are skipped and counted (bound from the host at
//   run time); ownership the id mapping cannot express is counted, not fatal.
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  chmodSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';

export const OPAQUE_XATTR = 'user.overlay.opaque';
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

/** The syscalls that need the native shim, injected so the writer has one seam. */
export interface LayerSyscalls {
  mknodWhiteout(path: string): number;
  lsetxattr(path: string, name: string, value: string): number;
}

export interface LayerStats {
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  whiteouts: number;
  opaqueDirs: string[];
  skippedDevices: number;
  skippedOther: number;
  ownersNotKept: number;
}

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime?: Date;
  atime?: Date;
}

export class UnsafeEntryError extends NsboxError {
  constructor(entry: string, why: string) {
    super('UNSAFE_ARCHIVE', `entry ${JSON.stringify(entry)} ${why}`, 'refusing to write outside the image; nothing was imported');
  }
}

const OPEN_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW; // libuv adds O_CLOEXEC

/** Splits an entry path into components; refuses absolute paths and `..`. */
export function entryComponents(path: string): string[] {
  if (path.includes('\0')) throw new UnsafeEntryError(path, 'has a NUL byte in its path');
  if (path.startsWith('/')) throw new UnsafeEntryError(path, 'has an absolute path');
  const parts = path.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new UnsafeEntryError(path, 'has a ".." component');
  return parts;
}

/**
 * Where a relative symlink target lands, as components from the layer root,
 * or null when it climbs above the root. Lexical, as Docker checks it.
 */
export function resolveLinkTarget(linkParts: string[], target: string): string[] | null {
  const stack = linkParts.slice(0, -1);
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) return null;
      stack.pop();
    } else stack.push(c);
  }
  return stack;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

/** Runs create(); if something is in the way (EEXIST), removes it and runs create() again. */
function createReplacing<T>(create: () => T, clear: () => void): T {
  try {
    return create();
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  clear();
  return create();
}

function writeAll(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}

export class LayerWriter {
  readonly stats: LayerStats = {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    whiteouts: 0,
    opaqueDirs: [],
    skippedDevices: 0,
    skippedOther: 0,
    ownersNotKept: 0,
  };
  /** The first error; once set, every later entry is drained and ignored. */
  failure: Error | null = null;
  /** Relative paths known to be real directories (never symlinks). */
  private readonly verified = new Set<string>(['']);
  private readonly dirMeta = new Map<string, Meta>();
  private readonly opaque = new Set<string>();

  constructor(
    readonly root: string,
    private readonly sys: LayerSyscalls,
  ) {}

  /** Handles one tar entry (node-tar ReadEntry). */
  entry(e: ReadEntry): void {
    if (this.failure) return void e.resume();
    try {
      this.stats.entries++;
      this.dispatch(e);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      e.resume();
    }
  }

  /** An entry node-tar does not unpack (sparse files, Solaris ACLs, ...). */
  ignored(e: ReadEntry): void {
    if (this.failure) return;
    if (e.type === 'SparseFile') {
      this.failure = new NsboxError('UNSUPPORTED_ARCHIVE', `entry ${JSON.stringify(e.path)} is a GNU sparse file`, 'create the archive without --sparse');
      return;
    }
    this.stats.skippedOther++;
  }

  private dispatch(e: ReadEntry): void {
    const parts = entryComponents(e.path);
    const rel = parts.join('/');
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(e, parts, base);
    switch (e.type) {
      case 'File':
      case 'OldFile':
      case 'ContiguousFile':
        return this.file(e, parts, rel);
      case 'Directory':
      case 'GNUDumpDir':
        return this.dir(e, parts, rel);
      case 'SymbolicLink':
        return this.symlink(e, parts, rel);
      case 'Link':
        return this.hardlink(e, parts, rel);
      case 'CharacterDevice':
      case 'BlockDevice':
      case 'FIFO':
        this.stats.skippedDevices++;
        return void e.resume();
      default:
        this.stats.skippedOther++;
        return void e.resume();
    }
  }

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  private meta(e: ReadEntry): Meta {
    return { mode: (e.mode ?? 0o644) & 0o7777, uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime, atime: e.atime };
  }

  /**
   * Makes sure every parent of `parts` is a real directory of this layer,
   * creating missing ones (create=false: for a hard link's target, which must
   * exist); refuses to go through a symlink or a non-directory.
   */
  private prepareParents(entry: string, parts: string[], create = true): void {
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      rel = rel ? `${rel}/${parts[i]}` : parts[i]!;
      if (this.verified.has(rel)) continue;
      const abs = this.abs(rel);
      const st = lstatOrNull(abs);
      if (!st) {
        if (!create) throw new UnsafeEntryError(entry, `is a hard link into ${JSON.stringify(rel)}, which is not in this layer`);
        mkdirSync(abs, 0o755);
      } else if (st.isSymbolicLink()) {
        throw new UnsafeEntryError(entry, create ? `would be written through the symlink ${JSON.stringify(rel)}` : `is a hard link through the symlink ${JSON.stringify(rel)}`);
      } else if (!st.isDirectory()) {
        throw new UnsafeEntryError(entry, `needs ${JSON.stringify(rel)} to be a directory, but it is not`);
      }
      this.verified.add(rel);
    }
  }

  /** Removes what is at rel (a directory only when keepDir is false). Returns true if a directory was kept. */
  private clear(rel: string, keepDir: boolean): boolean {
    const abs = this.abs(rel);
    const st = lstatOrNull(abs);
    if (!st) return false;
    if (st.isDirectory()) {
      if (keepDir) return true;
      rmSync(abs, { recursive: true, force: true });
      this.forget(rel);
      return false;
    }
    unlinkSync(abs);
    return false;
  }

  /** Drops what we knew about rel and everything under it. */
  private forget(rel: string): void {
    const prefix = rel + '/';
    for (const k of this.verified) if (k === rel || k.startsWith(prefix)) this.verified.delete(k);
    for (const k of this.dirMeta.keys()) if (k === rel || k.startsWith(prefix)) this.dirMeta.delete(k);
    for (const k of this.opaque) if (k === rel || k.startsWith(prefix)) this.opaque.delete(k);
  }

  private setOwner(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EINVAL' || code === 'EPERM') this.stats.ownersNotKept++;
      else throw err;
    }
  }

  private file(e: ReadEntry, parts: string[], rel: string): void {
    if (rel === '') throw new UnsafeEntryError(e.path, 'is a file at the root of the layer');
    this.prepareParents(e.path, parts);
    const m = this.meta(e);
    const abs = this.abs(rel);
    const fd = createReplacing(
      () => openSync(abs, OPEN_FLAGS, 0o600),
      () => this.clear(rel, false),
    );
    let open = true;
    const close = () => {
      if (open) (open = false), closeSync(fd);
    };
    e.on('end', () => {
      if (!open) return;
      try {
        this.setOwner(() => fchownSync(fd, m.uid, m.gid));
        fchmodSync(fd, m.mode);
        if (m.mtime) futimesSync(fd, m.atime ?? m.mtime, m.mtime);
        this.stats.files++;
      } catch (err) {
        this.failure ??= err as Error;
      } finally {
        close();
      }
    });
    e.on('data', (chunk: Buffer) => {
      if (!open) return;
      try {
        writeAll(fd, chunk);
      } catch (err) {
        this.failure ??= err as Error;
        close();
      }
    });
  }

  private dir(e: ReadEntry, parts: string[], rel: string): void {
    e.resume();
    if (rel !== '') {
      this.prepareParents(e.path, parts);
      const abs = this.abs(rel);
      try {
        mkdirSync(abs, 0o755);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
        if (!this.clear(rel, true)) mkdirSync(abs, 0o755); // a directory stays; anything else is replaced
      }
      this.verified.add(rel);
    }
    this.dirMeta.set(rel, this.meta(e));
    this.stats.dirs++;
  }

  private symlink(e: ReadEntry, parts: string[], rel: string): void {
    e.resume();
    const target = e.linkpath ?? '';
    if (rel === '') throw new UnsafeEntryError(e.path, 'makes the layer root a symlink');
    if (target === '' || target.includes('\0')) throw new UnsafeEntryError(e.path, 'is a symlink with an empty or invalid target');
    if (!target.startsWith('/') && resolveLinkTarget(parts, target) === null)
      throw new UnsafeEntryError(e.path, `is a symlink to ${JSON.stringify(target)}, outside the rootfs`);
    this.prepareParents(e.path, parts);
    const abs = this.abs(rel);
    createReplacing(
      () => symlinkSync(target, abs),
      () => this.clear(rel, false),
    );
    const m = this.meta(e);
    this.setOwner(() => lchownSync(abs, m.uid, m.gid));
    if (m.mtime) lutimesSync(abs, m.atime ?? m.mtime, m.mtime);
    this.stats.symlinks++;
  }

  private hardlink(e: ReadEntry, parts: string[], rel: string): void {
    e.resume();
    const linkpath = e.linkpath ?? '';
    if (rel === '') throw new UnsafeEntryError(e.path, 'makes the layer root a hard link');
    if (linkpath.startsWith('/')) throw new UnsafeEntryError(e.path, `is a hard link to ${JSON.stringify(linkpath)}, outside the layer`);
    let targetParts: string[];
    try {
      targetParts = entryComponents(linkpath);
    } catch {
      throw new UnsafeEntryError(e.path, `is a hard link to ${JSON.stringify(linkpath)}, outside the layer`);
    }
    const targetRel = targetParts.join('/');
    if (targetRel === '') throw new UnsafeEntryError(e.path, 'is a hard link to the layer root');
    if (targetRel === rel) return;
    this.prepareParents(e.path, targetParts, false);
    const targetAbs = this.abs(targetRel);
    const st = lstatOrNull(targetAbs);
    if (!st) throw new UnsafeEntryError(e.path, `is a hard link to ${JSON.stringify(linkpath)}, which is not in this layer`);
    if (st.isDirectory()) throw new UnsafeEntryError(e.path, `is a hard link to the directory ${JSON.stringify(linkpath)}`);
    this.prepareParents(e.path, parts);
    this.clear(rel, false);
    const abs = this.abs(rel);
    if (st.isSymbolicLink()) {
      // Never hand link(2) a symlink: copy the (already checked) link instead.
      symlinkSync(readlinkSync(targetAbs), abs);
      this.setOwner(() => lchownSync(abs, st.uid, st.gid));
    } else {
      linkSync(targetAbs, abs);
    }
    this.stats.hardlinks++;
  }

  private whiteout(e: ReadEntry, parts: string[], base: string): void {
    e.resume();
    const dirParts = parts.slice(0, -1);
    const dirRel = dirParts.join('/');
    if (base === OPAQUE_MARKER) {
      this.prepareParents(e.path, parts);
      const rc = this.sys.lsetxattr(this.abs(dirRel), OPAQUE_XATTR, 'y');
      if (rc < 0)
        throw new NsboxError('XATTR', `cannot mark ${JSON.stringify(dirRel || '/')} opaque (lsetxattr ${OPAQUE_XATTR}: ${errnoName(-rc)})`, 'the image store needs a filesystem with user xattrs (ext4, xfs, btrfs, tmpfs on Linux 6.6+)');
      this.opaque.add(dirRel);
      this.stats.whiteouts++;
      return;
    }
    if (base.startsWith(OPAQUE_MARKER.slice(0, 8))) {
      // Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not part of the rootfs.
      this.stats.skippedOther++;
      return;
    }
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw new UnsafeEntryError(e.path, 'is a whiteout with an invalid name');
    const targetParts = [...dirParts, name];
    const rel = targetParts.join('/');
    this.prepareParents(e.path, targetParts);
    this.clear(rel, false);
    const rc = this.sys.mknodWhiteout(this.abs(rel));
    if (rc < 0)
      throw new NsboxError('WHITEOUT', `cannot create the whiteout for ${JSON.stringify(rel)} (mknod: ${errnoName(-rc)})`, 'whiteouts need Linux 5.8+ for unprivileged mknod of 0/0 devices');
    this.stats.whiteouts++;
  }

  /** Applies directory owners, modes and times (deepest first, after their contents). */
  finish(): LayerStats {
    if (this.failure) throw this.failure;
    const dirs = [...this.dirMeta.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, m] of dirs) {
      const abs = this.abs(rel);
      const st = lstatOrNull(abs);
      if (!st || !st.isDirectory()) continue;
      this.setOwner(() => lchownSync(abs, m.uid, m.gid));
      chmodSync(abs, m.mode);
      if (m.mtime) utimesSync(abs, m.atime ?? m.mtime, m.mtime);
    }
    this.stats.opaqueDirs = [...this.opaque].sort();
    return this.stats;
  }
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}
