// The capabilities a container keeps, inside its pod's user namespace (it
// never holds any outside it). The default is podman's set: enough for
// images that start as root and drop to a user (nginx, setpriv), bind low
// ports or chown their files; not enough to mount, change network devices,
// trace other processes or make device nodes. --cap-add/--cap-drop change it.
import { NsboxError } from '../errors.js';

/** Linux capability numbers (linux/capability.h). */
const CAPABILITY_NUMBERS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

export const DEFAULT_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];

function capabilityName(text: string, flag: string): string {
  const name = text.toUpperCase().replace(/^CAP_/, '');
  if (name === 'ALL' || name in CAPABILITY_NUMBERS) return name;
  throw new NsboxError('INVALID_ARGUMENT', `unknown capability ${JSON.stringify(text)} in ${flag}`, 'use names such as NET_ADMIN or CAP_NET_RAW, or ALL (see capabilities(7))');
}

/**
 * The set a container keeps, as docker and podman compute it: --cap-add ALL
 * starts from every capability and the drops apply after it; otherwise the
 * default set minus the drops (none with --cap-drop ALL), plus the adds.
 */
export function resolveCapabilities(add: readonly string[] = [], drop: readonly string[] = []): string[] {
  const adds = add.map((c) => capabilityName(c, '--cap-add'));
  const drops = drop.map((c) => capabilityName(c, '--cap-drop'));
  const set = new Set(adds.includes('ALL') ? Object.keys(CAPABILITY_NUMBERS) : DEFAULT_CAPABILITIES);
  if (drops.includes('ALL')) set.clear();
  for (const c of drops) set.delete(c);
  if (!adds.includes('ALL')) for (const c of adds) set.add(c);
  return [...set].sort((a, b) => CAPABILITY_NUMBERS[a]! - CAPABILITY_NUMBERS[b]!);
}

/** Bit N set for capability N, as the shim's `capabilities` step takes it. */
export function capabilityMask(names: readonly string[] = DEFAULT_CAPABILITIES): bigint {
  return names.reduce((mask, n) => mask | (1n << BigInt(CAPABILITY_NUMBERS[n] ?? 63)), 0n) & ~(1n << 63n);
}
