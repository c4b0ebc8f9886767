// The copy fallback where overlayfs is unavailable: merges extracted layers
// (bottom first) into one directory, applying whiteouts by deleting and
// opaque directories by emptying what lower layers put there. Runs inside the
// user namespace (extract-worker.ts), so owners are copied as they are.
// Nothing here follows a symlink: every path is lstat'ed, and whatever sits
// at a destination is removed before a file or link is created there.
import {
  chmodSync,
  constants,
  copyFileSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';

export interface MaterializeLayer {
  /** The layer's diff directory. */
  dir: string;
  /** Directories (relative, "" for the root) marked opaque in that layer. */
  opaqueDirs: string[];
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

function copyOwner(path: string, st: Stats): void {
  try {
    lchownSync(path, st.uid, st.gid);
  } catch {
    // an owner this mapping cannot express: keep ours (as extraction did)
  }
}

export function materializeLayers(layers: MaterializeLayer[], dest: string): { files: number } {
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  const dirStats = new Map<string, Stats>();
  let files = 0;

  for (const layer of layers) {
    const opaque = new Set(layer.opaqueDirs);
    const links = new Map<number, string>(); // inode in the layer -> path in dest

    const walk = (rel: string): void => {
      const srcDir = rel ? join(layer.dir, rel) : layer.dir;
      const destDir = rel ? join(dest, rel) : dest;
      if (opaque.has(rel)) emptyDir(destDir);
      for (const name of readdirSync(srcDir)) {
        const childRel = rel ? `${rel}/${name}` : name;
        const src = join(srcDir, name);
        const dst = join(destDir, name);
        const st = lstatSync(src);
        const existing = lstatOrNull(dst);
        if (isWhiteout(st)) {
          if (existing) rmSync(dst, { recursive: true, force: true });
          continue;
        }
        if (st.isDirectory()) {
          if (existing && !existing.isDirectory()) unlinkSync(dst);
          if (!existing || !existing.isDirectory()) mkdirSync(dst, 0o755);
          dirStats.set(childRel, st);
          walk(childRel);
          continue;
        }
        if (existing) rmSync(dst, { recursive: true, force: true });
        if (st.isSymbolicLink()) {
          symlinkSync(readlinkSync(src), dst);
          copyOwner(dst, st);
          lutimesSync(dst, st.atime, st.mtime);
        } else if (st.isFile()) {
          const first = st.nlink > 1 ? links.get(st.ino) : undefined;
          if (first) {
            linkSync(first, dst);
          } else {
            copyFileSync(src, dst, constants.COPYFILE_FICLONE);
            copyOwner(dst, st);
            chmodSync(dst, st.mode & 0o7777);
            utimesSync(dst, st.atime, st.mtime);
            if (st.nlink > 1) links.set(st.ino, dst);
          }
          files++;
        }
        // device nodes and FIFOs never reach a layer (extraction skips them)
      }
    };
    dirStats.set('', lstatSync(layer.dir));
    walk('');
  }

  const dirs = [...dirStats.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length || b[0].length - a[0].length);
  for (const [rel, st] of dirs) {
    const path = rel ? join(dest, rel) : dest;
    const now = lstatOrNull(path);
    if (!now || !now.isDirectory()) continue;
    copyOwner(path, st);
    chmodSync(path, st.mode & 0o7777);
    utimesSync(path, st.atime, st.mtime);
  }
  return { files };
}
