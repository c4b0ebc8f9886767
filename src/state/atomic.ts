// Atomic JSON writes: temp file, rename, so a crash of the writer leaves
// either the old record or the new one, never half of one. Durable writes
// (images, volumes, networks: what outlives a reboot) also fsync the file
// and its directory, so a power loss cannot leave a renamed but empty file.
// The records of pods and containers describe processes that a power loss
// ends anyway: they skip the two fsyncs (~2 ms of a pod create on ext4). A
// pod whose record is lost that way is swept as an incomplete one, with its
// containers; a container without its record is not listed.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeJsonAtomic(path: string, value: unknown, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable ?? true;
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    if (durable) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  if (!durable) return;
  const dirFd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** A pod's or container's runtime record: atomic, not fsynced (see above). */
export function writeRuntimeJson(path: string, value: unknown): void {
  writeJsonAtomic(path, value, { durable: false });
}

export function readJson<T>(path: string): T | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return null;
  }
}
