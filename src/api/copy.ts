// `nsbox cp` and the library's copyTo/copyFrom: files into and out of a
// container, running or stopped, with docker's rules for paths
// (copy/place.ts); `-` is a tar stream.
import type { Readable, Writable } from 'node:stream';
import { NsboxError } from '../errors.js';
import type { Container } from './container.js';
import type { CopySubject } from '../copy/copy.js';

async function subjectOf(c: Container): Promise<CopySubject> {
  const { layerDirs } = await import('../image/store.js');
  const record = c.record();
  return { record, state: c.state(record), paths: c.paths(), layerDirs: layerDirs(c.pod.dataRoot, record.image), ref: c.ref };
}

export interface CopyOptions {
  /** docker's cp -a: keep the source's uid/gid (default: the files are the container's root's). */
  archive?: boolean;
}

/**
 * Into the container at `dst`: a host path (a file or a directory; DIR/.
 * copies its contents), the bytes of one file, or a tar stream (unpacked
 * into the directory `dst`).
 */
export async function copyToContainer(c: Container, source: string | Buffer | { tar: Readable }, dst: string, opts: CopyOptions = {}): Promise<void> {
  const { copyIntoContainer } = await import('../copy/copy.js');
  const src = typeof source === 'string' ? { hostPath: source } : Buffer.isBuffer(source) ? { bytes: source } : source;
  if (Buffer.isBuffer(source) && dst.endsWith('/')) throw new NsboxError('INVALID_ARGUMENT', `copying bytes needs a file path, not the directory ${dst}`, 'name the file, e.g. /etc/app.conf');
  await copyIntoContainer(await subjectOf(c), src, dst, { keepOwners: opts.archive });
}

/** Out of the container: `src` to a host path (docker's rules), or as a tar stream into `sink`. */
export async function copyFromContainer(c: Container, src: string, sink: string | { tar: Writable }): Promise<void> {
  const { copyFromContainer: copyOut } = await import('../copy/copy.js');
  await copyOut(await subjectOf(c), src, typeof sink === 'string' ? { hostPath: sink } : sink);
}

/** A path's name, size, Go file mode, mtime and (a symlink's) target inside the container: docker's archive stat. */
export async function statContainerPath(c: Container, path: string): Promise<import('../copy/stat.js').PathStat> {
  const { statInContainer } = await import('../copy/copy.js');
  return statInContainer(await subjectOf(c), path);
}

/** `cp` arguments: "-", a host path, or CONTAINER:PATH (a path starting with / or . is always the host's, as docker reads it). */
export function parseCopyArg(arg: string): { kind: 'stdio' } | { kind: 'host'; path: string } | { kind: 'container'; ref: string; path: string } {
  if (arg === '-') return { kind: 'stdio' };
  if (arg.startsWith('/') || arg.startsWith('.')) return { kind: 'host', path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { kind: 'host', path: arg };
  return { kind: 'container', ref: arg.slice(0, colon), path: arg.slice(colon + 1) || '/' };
}
