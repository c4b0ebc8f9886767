// Which seccomp program a container runs under: its profile (the default
// one shipped as data, a file the user names, or none) read and validated,
// reduced to the container's architecture and capabilities, and compiled by
// libseccomp. Compiling the default profile costs tens of milliseconds, so
// programs are cached in the data root by a hash of everything that decides
// them; a container keeps its own copy (seccomp.bpf in its directory), so a
// restart or an exec into it uses the very program it started with.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
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
const COMPILER = 'nsbox-seccomp-2';

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
  if (compiled.size > 64) compiled.clear();
  compiled.set(key, program);
  return program;
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
  const { text, label } = readProfile(choice);
  const t = { ...target(), capabilities: [...capabilities].sort(), kernel: release() };
  const key = createHash('sha256').update(JSON.stringify([COMPILER, text, t])).digest('hex');
  const dir = join(dataRoot, 'seccomp');
  const cached = join(dir, `${key}.bpf`);
  const known = compiled.get(cached);
  if (known && existsSync(cached)) return known; // an emptied cache is compiled again
  try {
    return remember(cached, readFileSync(cached));
  } catch {
    // not compiled yet: a cached program's text was validated when it was compiled
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
  try {
    const program = compileFilter(filter, scratch);
    renameSync(scratch, cached); // atomic: a reader sees a whole program or none
    return remember(cached, program);
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
