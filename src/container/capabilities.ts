// The capabilities a container keeps, inside its pod's user namespace (it
// never holds any outside it). podman's default set: enough for images that
// start as root and drop to a user (nginx, setpriv), bind low ports or chown
// their files; not enough to mount, change network devices, trace other
// processes or make device nodes.
const CAPABILITY_NUMBERS = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  NET_BIND_SERVICE: 10,
  SYS_CHROOT: 18,
  SETFCAP: 31,
} as const;

export type CapabilityName = keyof typeof CAPABILITY_NUMBERS;

export const DEFAULT_CAPABILITIES = Object.keys(CAPABILITY_NUMBERS) as CapabilityName[];

/** Bit N set for capability N, as the shim's `capabilities` step takes it. */
export function capabilityMask(names: readonly CapabilityName[] = DEFAULT_CAPABILITIES): bigint {
  return names.reduce((mask, n) => mask | (1n << BigInt(CAPABILITY_NUMBERS[n])), 0n);
}
