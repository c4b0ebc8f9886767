// System packages the scripts need: find what is missing; as root install it
// with apt-get, otherwise fail with one line naming the packages.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function which(cmd) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...SYSTEM_PATH.split(':')];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not in this directory
    }
  }
  return null;
}

/** True for an ELF executable without a program interpreter (statically linked). */
export function isStaticExecutable(path) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const h = Buffer.alloc(64);
    if (readSync(fd, h, 0, 64, 0) < 52 || h.readUInt32BE(0) !== 0x7f454c46) return false;
    if (h[5] !== 1) return true; // big-endian: not worth parsing, trust the package
    const is64 = h[4] === 2;
    const phoff = is64 ? Number(h.readBigUInt64LE(0x20)) : h.readUInt32LE(0x1c);
    const phentsize = h.readUInt16LE(is64 ? 0x36 : 0x2a);
    const phnum = h.readUInt16LE(is64 ? 0x38 : 0x2c);
    const ph = Buffer.alloc(4);
    for (let i = 0; i < phnum; i++) {
      if (readSync(fd, ph, 0, 4, phoff + i * phentsize) < 4) return false;
      if (ph.readUInt32LE(0) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}


/**
 * requirements: [{ pkg, provides, ok() }]. `tool` prefixes messages.
 */
export function ensureSystemPackages(requirements, tool) {
  const isRoot = process.getuid() === 0;
  const die = (message) => {
    console.error(`${tool}: ${message}`);
    process.exit(1);
  };
  let missing = requirements.filter((r) => !r.ok());
  if (missing.length === 0) return;
  const pkgs = missing.map((r) => r.pkg);
  if (!isRoot) {
    const what = missing.map((r) => `${r.pkg} (${r.provides})`).join(', ');
    die(`missing ${what}; install with: sudo apt-get update && sudo apt-get install -y ${pkgs.join(' ')}`);
  }
  if (!which('apt-get')) die(`missing ${pkgs.join(' ')} and no apt-get to install them with`);
  console.log(`${tool}: installing ${pkgs.join(' ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: `${process.env.PATH ?? ''}:${SYSTEM_PATH}` };
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    if (r.status !== 0) die(`apt-get ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  }
  missing = requirements.filter((r) => !r.ok());
  if (missing.length) die(`still missing after apt-get install: ${missing.map((r) => `${r.pkg} (${r.provides})`).join(', ')}`);
}
