// The pure parts of user networks: subnets, addresses, MACs, nested maps.
import { describe, expect, it } from 'vitest';
import { defaultSubnet, formatSubnet, freeAddress, gatewayOf, overlaps, parseSubnet } from '../src/network/subnet.js';
import { macFor } from '../src/network/membership.js';
import { nestedMappingSteps, pausePlan } from '../src/pod/plans.js';
import { CLONE } from '../src/native/plan.js';

describe('user network subnets', () => {
  it('parses CIDRs and refuses bad ones with the fix', () => {
    expect(formatSubnet(parseSubnet('10.89.3.0/24'))).toBe('10.89.3.0/24');
    expect(gatewayOf(parseSubnet('192.168.8.0/22'))).toBe('192.168.8.1');
    expect(() => parseSubnet('10.89.3.1/24')).toThrow(/host bits are set \(the network is 10\.89\.3\.0\/24\)/);
    expect(() => parseSubnet('10.89.3.0/31')).toThrow(/prefix must be 8 to 30/);
    expect(() => parseSubnet('10.300.0.0/16')).toThrow(/not IPv4 CIDR/);
    expect(() => parseSubnet('fd00::/64')).toThrow(/not IPv4 CIDR/);
  });
  it('picks the first free default subnet and the lowest free address', () => {
    expect(formatSubnet(defaultSubnet([]))).toBe('10.89.0.0/24');
    expect(formatSubnet(defaultSubnet([parseSubnet('10.89.0.0/23')]))).toBe('10.89.2.0/24');
    expect(overlaps(parseSubnet('10.0.0.0/8'), parseSubnet('10.89.7.0/24'))).toBe(true);
    expect(overlaps(parseSubnet('10.89.6.0/24'), parseSubnet('10.89.7.0/24'))).toBe(false);
    const s = parseSubnet('10.89.0.0/30');
    expect(freeAddress(s, new Set(['10.89.0.1']))).toBe('10.89.0.2');
    expect(() => freeAddress(s, new Set(['10.89.0.1', '10.89.0.2']))).toThrow(/no free address left/);
  });
  it('derives a locally administered MAC from the address', () => {
    expect(macFor('10.89.0.2')).toBe('02:42:0a:59:00:02');
  });
});

describe('pause plans nested in the network user namespace', () => {
  const full = { kind: 'full' as const, uid: 1000, gid: 1000, subuid: { start: 100000, count: 65536 }, subgid: { start: 100000, count: 65536 }, newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' };
  it('maps every id of the parent 1:1 through /proc, without newuidmap', () => {
    expect(nestedMappingSteps(full)).toEqual([
      { op: 'writeProc', file: 'uid_map', content: '0 0 1\n1 1 65536\n' },
      { op: 'writeProc', file: 'gid_map', content: '0 0 1\n1 1 65536\n' },
    ]);
  });
  it('joins the shared user namespace first; a holder makes no user namespace and has no parent-death signal', () => {
    const pod = pausePlan({ hostname: 'p', mapping: full, pauseFd: 5, readyFd: 6, nestIn: { pidfd: 7, newUserns: true } });
    expect(pod.middle).toEqual([{ op: 'setnsPidfd', pidfd: 7, flags: CLONE.NEWUSER }]);
    expect(pod.cloneFlags & CLONE.NEWUSER).toBe(CLONE.NEWUSER);
    expect(pod.after.some((s) => s.op === 'run')).toBe(false);
    expect(pod.child.some((s) => s.op === 'pdeathsig')).toBe(true);
    const holder = pausePlan({ hostname: 'h', mapping: full, pauseFd: 5, readyFd: 6, nestIn: { pidfd: 7, newUserns: false }, persistent: true });
    expect(holder.cloneFlags & CLONE.NEWUSER).toBe(0);
    expect(holder.cloneFlags & CLONE.NEWNET).toBe(CLONE.NEWNET);
    expect(holder.after).toEqual([{ op: 'release' }]);
    expect(holder.child.some((s) => s.op === 'pdeathsig')).toBe(false);
  });
});
