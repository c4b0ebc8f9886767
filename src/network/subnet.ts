// IPv4 subnets of user networks: parsing a CIDR, the default 10.89.N.0/24,
// and the next free address in one. Pure.
import { NsboxError } from '../errors.js';

export interface Subnet {
  /** The network address as a number, and the prefix length. */
  base: number;
  prefix: number;
}

const ip = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
export const formatIp = ip;

export function parseIp(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function parseSubnet(text: string): Subnet {
  const bad = (why: string) => new NsboxError('INVALID_SUBNET', `invalid subnet ${JSON.stringify(text)}: ${why}`, 'give an IPv4 network in CIDR form with a prefix of 8 to 30, such as 10.89.5.0/24');
  const [addr, len, ...rest] = text.split('/');
  const base = parseIp(addr ?? '');
  if (base === null || len === undefined || rest.length || !/^\d{1,2}$/.test(len)) throw bad('not IPv4 CIDR');
  const prefix = Number(len);
  if (prefix < 8 || prefix > 30) throw bad('the prefix must be 8 to 30');
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  if ((base & mask) >>> 0 !== base) throw bad(`host bits are set (the network is ${ip((base & mask) >>> 0)}/${prefix})`);
  return { base, prefix };
}

export const formatSubnet = (s: Subnet) => `${ip(s.base)}/${s.prefix}`;

/** The gateway: the first address, held by the bridge. */
export const gatewayOf = (s: Subnet) => ip(s.base + 1);

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = (0xffffffff << (32 - p)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/** 10.89.N.0/24 for the lowest N that overlaps none of the networks in use. */
export function defaultSubnet(used: Subnet[]): Subnet {
  for (let n = 0; n < 256; n++) {
    const s = { base: parseIp(`10.89.${n}.0`)!, prefix: 24 };
    if (!used.some((u) => overlaps(u, s))) return s;
  }
  throw new NsboxError('NO_SUBNET', 'every default subnet 10.89.0-255.0/24 is in use', 'remove a network, or pass --subnet');
}

/** The lowest host address of the subnet after the gateway that is not taken. */
export function freeAddress(s: Subnet, taken: Set<string>): string {
  const size = 2 ** (32 - s.prefix);
  for (let i = 2; i < size - 1; i++) {
    const a = ip(s.base + i);
    if (!taken.has(a)) return a;
  }
  throw new NsboxError('NETWORK_FULL', `no free address left in ${formatSubnet(s)}`, 'disconnect or remove pods from the network, or create one with a larger --subnet');
}
