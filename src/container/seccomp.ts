// Which seccomp program a container runs under: its profile (the default
// one shipped as data, a file the user names, or none) read and validated,
// reduced to the container's architecture and capabilities, and compiled by
// libseccomp. Compiling the default profile costs tens of milliseconds, so
// programs are cached in the data root under a hash of everything that
// decides them; each cache file starts with that whole key and is used only
// when it matches, so the hash needs no cryptographic strength (node:crypto
// would add ~3 ms to every CLI start). A second file per program is named
// by the profile file's stamp (device, inode, size, mtime, ctime), so a new
// process finds it without reading the profile. A container keeps its own copy
// (seccomp.bpf in its directory), so a restart or an exec into it uses the
// very program it started with.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join, resolve } from 'node:path';
import { NsboxError } from '../errors.js';
import { parseProfile, ProfileError, resolveProfile } from '../core/seccomp-profile.js';
import { artifacts } from '../native/artifacts.js';
import { compileFilter } from '../native/libseccomp.js';
import { randomHex } from '../process/random.js';

/** 'default', 'unconfined', or the absolute path of a profile file. */
export type SeccompChoice = string;

/** Bumped when the way a program is made changes, so old cache entries are not reused. */
const COMPILER = 'nsbox-seccomp-3';

/** 64 bits of FNV-1a (two 32-bit lanes) over the key's UTF-16 units, as 16 hex digits: a file name. */
function fnvHex(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c ^ (a >>> 16), 0x01000193);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** A cache file: 4 bytes of key length, the key, then the program. */
function cacheEntry(key: string, program: Buffer): Buffer {
  const k = Buffer.from(key, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(k.length, 0);
  return Buffer.concat([len, k, program]);
}

/** The program in a cache file, when the file is there and holds exactly this key. */
function readCacheEntry(file: string, key: string): Buffer | null {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return null;
  }
  const k = Buffer.from(key, 'utf8');
  if (data.length < 4 + k.length + 8 || data.readUInt32LE(0) !== k.length || !data.subarray(4, 4 + k.length).equals(k)) return null;
  const program = data.subarray(4 + k.length);
  return program.length % 8 === 0 ? program : null;
}

/** The native architecture as profiles name it (SCMP_ARCH_*) and as includes.arches does (Go's names). */
function target(): { scmpArch: string; goArch: string } {
  switch (process.arch) {
    case 'x64':
      return { scmpArch: 'SCMP_ARCH_X86_64', goArch: 'amd64' };
    case 'arm64':
      return { scmpArch: 'SCMP_ARCH_AARCH64', goArch: 'arm64' };
    case 'arm':
      return { scmpArch: 'SCMP_ARCH_ARM', goArch: 'arm' };
    case 's390x':
      return { scmpArch: 'SCMP_ARCH_S390X', goArch: 's390x' };
    case 'ppc64':
      return { scmpArch: 'SCMP_ARCH_PPC64LE', goArch: 'ppc64le' };
    case 'riscv64':
      return { scmpArch: 'SCMP_ARCH_RISCV64', goArch: 'riscv64' };
    default:
      throw new NsboxError('SECCOMP_UNAVAILABLE', `no seccomp support for architecture ${process.arch}`, 'run with --security-opt seccomp=unconfined');
  }
}

/** Programs this process has read or compiled, by cache file: a library process that runs many containers reads each once. */
const compiled = new Map<string, Buffer>();
function remember(key: string, program: Buffer): Buffer {
  if (compiled.size > 64) (compiled.clear(), byStamp.clear());
  compiled.set(key, program);
  return program;
}

/** Profile file stamps (path, inode, size, mtime, capabilities, data root) → their cache file. */
const byStamp = new Map<string, string>();

function profileStamp(choice: SeccompChoice, capabilities: readonly string[], dataRoot: string): string | null {
  const path = choice === 'default' ? artifacts.seccompDefault : choice;
  try {
    const st = statSync(path);
    return [path, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs, [...capabilities].sort().join(','), dataRoot].join('\0');
  } catch {
    return null; // readProfile says why
  }
}

function readProfile(choice: SeccompChoice): { text: string; label: string } {
  const path = choice === 'default' ? artifacts.seccompDefault : choice;
  const label = choice === 'default' ? 'the default seccomp profile' : `seccomp profile ${path}`;
  try {
    return { text: readFileSync(path, 'utf8'), label };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new NsboxError('INVALID_ARGUMENT', `cannot read ${label}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code ?? err)}`, 'give a JSON profile with --security-opt seccomp=PROFILE.json');
  }
}

/**
 * The compiled program for a container, or null for `unconfined`. Throws a
 * one-line error naming the field of a malformed profile; nothing is
 * created then (the cache is written only for a program that compiled).
 */
export function seccompProgram(choice: SeccompChoice, capabilities: readonly string[], dataRoot: string): Buffer | null {
  if (choice === 'unconfined') return null;
  // A profile file this process has seen unchanged (same inode, size and time): its cache file is known.
  const stamp = profileStamp(choice, capabilities, dataRoot);
  const seen = stamp ? byStamp.get(stamp) : undefined;
  const program = seen && existsSync(seen) ? compiled.get(seen) : undefined;
  if (program) return program;
  const dir = join(dataRoot, 'seccomp');
  // The same across processes: a file named by the stamp, so that a CLI call finds its program without
  // reading and hashing the ~20 KB profile (~3 ms of a `run`). The stamp has the file's ctime, which no
  // write leaves unchanged.
  const stampKey = stamp ? JSON.stringify([COMPILER, target().scmpArch, release(), stamp]) : null;
  const stamped = stampKey ? join(dir, `${fnvHex(stampKey)}.stamp`) : null;
  const stampHit = stamped && stampKey ? readCacheEntry(stamped, stampKey) : null;
  if (stampHit) {
    byStamp.set(stamp!, stamped!);
    return remember(stamped!, stampHit);
  }
  const { text, label } = readProfile(choice);
  const t = { ...target(), capabilities: [...capabilities].sort(), kernel: release() };
  const key = JSON.stringify([COMPILER, t, text]);
  const cached = join(dir, `${fnvHex(key)}.bpf`);
  const hit = readCacheEntry(cached, key);
  // A cached program's text was validated when it was compiled.
  if (hit) {
    if (stamp) byStamp.set(stamp, cached);
    if (stamped && stampKey) writeStampEntry(dir, stamped, cacheEntry(stampKey, hit));
    return remember(cached, hit);
  }
  let profile;
  try {
    profile = parseProfile(text);
  } catch (err) {
    if (err instanceof ProfileError) throw new NsboxError('INVALID_ARGUMENT', `invalid ${label}: ${err.message}`, 'fix the profile (the OCI/docker seccomp JSON format), or run with --security-opt seccomp=unconfined');
    throw err;
  }
  const filter = resolveProfile(profile, t);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const scratch = join(dir, `.tmp-${randomHex(8)}`);
  let compiledNow: Buffer;
  try {
    compiledNow = compileFilter(filter, scratch);
  } finally {
    if (existsSync(scratch)) rmSync(scratch, { force: true });
  }
  writeEntry(dir, cached, cacheEntry(key, compiledNow));
  if (stamped && stampKey) writeStampEntry(dir, stamped, cacheEntry(stampKey, compiledNow));
  if (stamp) byStamp.set(stamp, cached);
  return remember(cached, compiledNow);
}

/** The stamp's file only saves a later process some work: one that cannot be written is no failure of the run. */
function writeStampEntry(dir: string, file: string, entry: Buffer): void {
  try {
    writeEntry(dir, file, entry);
  } catch {
    // found by the profile's text next time
  }
}

/** Writes a cache file atomically: a reader sees a whole entry or none. */
function writeEntry(dir: string, file: string, entry: Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const scratch = join(dir, `.tmp-${randomHex(8)}`);
  try {
    writeFileSync(scratch, entry, { mode: 0o600 });
    renameSync(scratch, file);
  } finally {
    if (existsSync(scratch)) rmSync(scratch, { force: true });
  }
}

/** What `--security-opt seccomp=` names, as stored: 'default', 'unconfined' or an absolute path. */
export function seccompChoice(spec: string): SeccompChoice {
  if (spec === 'unconfined' || spec === 'default') return spec;
  if (spec === '') throw new NsboxError('INVALID_ARGUMENT', 'empty seccomp profile in --security-opt seccomp=', 'use seccomp=unconfined or seccomp=PROFILE.json');
  return resolve(spec);
}

/** The program a container was created with, for its start and for an exec into it; null: none. */
export function containerSeccompProgram(r: { seccomp?: SeccompChoice }, paths: { seccomp: string }): Buffer | null {
  // Records from before seccomp had no filter, and keep running as they were made.
  if (r.seccomp === undefined || r.seccomp === 'unconfined') return null;
  try {
    return readFileSync(paths.seccomp);
  } catch {
    throw new NsboxError('SECCOMP_MISSING', `the container's seccomp program ${paths.seccomp} is missing`, 'remove the container and run it again');
  }
}
