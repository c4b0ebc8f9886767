// A small, deterministic writer for rootfs tarballs made from a list of
// entries (no staging directory): every entry is owned by root (uid/gid 0,
// uname/gname "root") whoever builds it, paths are "./"-relative like
// mmdebstrap's and GNU tar's, parents come before their children, and the
// same entries give the same bytes. Headers are encoded by node-tar, with a
// pax header where a field does not fit ustar.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';
import { Header, Pax } from 'tar';

const TYPES = { dir: 'Directory', file: 'File', symlink: 'SymbolicLink' };

/** "bin/sh", "/bin/sh", "./bin/sh" -> "bin/sh"; "." and "/" -> "". Rejects "..". */
export function normalizeEntryPath(p) {
  const n = posix.normalize(`/${p}`).replace(/^\/+/, '').replace(/\/+$/, '');
  if (n.split('/').includes('..')) throw new Error(`tar entry path escapes the root: ${p}`);
  return n;
}

/**
 * entries: [{ path, type: 'dir'|'file'|'symlink', mode?, data? (Buffer|string),
 * source? (host file to copy), linkpath? }]. Missing parent directories are
 * added (0755). Writes `file` (must not exist) and returns the entry count.
 */
export function writeRootfsTar(file, entries, { mtime = new Date(0) } = {}) {
  const byPath = new Map();
  byPath.set('', { path: '', type: 'dir', mode: 0o755 });
  for (const e of entries) {
    if (!TYPES[e.type]) throw new Error(`tar entry ${e.path}: unknown type ${e.type}`);
    const path = normalizeEntryPath(e.path);
    for (let d = posix.dirname(path); d !== '.' && !byPath.has(d); d = posix.dirname(d)) {
      byPath.set(d, { path: d, type: 'dir', mode: 0o755 });
    }
    byPath.set(path, { ...e, path });
  }
  const sorted = [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const fd = openSync(file, 'wx', 0o644);
  try {
    for (const e of sorted) writeEntry(fd, e, mtime);
    writeSync(fd, Buffer.alloc(1024)); // end of archive: two zero blocks
  } finally {
    closeSync(fd);
  }
  return sorted.length;
}

function writeEntry(fd, e, mtime) {
  const path = e.path === '' ? './' : `./${e.path}${e.type === 'dir' ? '/' : ''}`;
  let data = null;
  if (e.type === 'file') {
    data = e.source !== undefined ? readFileSync(e.source) : Buffer.from(e.data ?? '');
  }
  const size = data ? data.length : 0;
  const fields = {
    path,
    mode: (e.mode ?? (e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : 0o644)) & 0o7777,
    uid: 0,
    gid: 0,
    size,
    mtime: e.mtime ?? mtime,
    type: TYPES[e.type],
    linkpath: e.type === 'symlink' ? e.linkpath : '',
    uname: 'root',
    gname: 'root',
  };
  if (e.type === 'symlink' && !e.linkpath) throw new Error(`tar entry ${e.path}: symlink without a target`);
  const header = new Header(fields);
  header.encode();
  if (header.needPax) writeSync(fd, new Pax({ path, linkpath: fields.linkpath || undefined, size, mtime: fields.mtime }).encode());
  writeSync(fd, header.block);
  if (size) {
    writeSync(fd, data);
    const pad = (512 - (size % 512)) % 512;
    if (pad) writeSync(fd, Buffer.alloc(pad));
  }
}
