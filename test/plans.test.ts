// Pure tests of the plans nsbox hands to the shim: order and content, with
// no privileges and no processes.
import { describe, expect, it } from 'vitest';
import { mappingSteps } from '../dist/idmap/mapping.js';
import { parseSubidFile } from '../dist/idmap/subid.js';
import { CHILD_PID, CLONE, encodePlan } from '../dist/native/plan.js';
import { execPlan, pausePlan, POD_CLONE_FLAGS, POD_NAMESPACES } from '../dist/pod/plans.js';

const full = {
  kind: 'full' as const,
  uid: 1000,
  gid: 1000,
  subuid: { start: 100000, count: 65536 },
  subgid: { start: 100000, count: 65536 },
  newuidmap: '/usr/bin/newuidmap',
  newgidmap: '/usr/bin/newgidmap',
};

describe('pause plan', () => {
  const plan = pausePlan({ hostname: 'web', mapping: full, pausePath: '/x/pause', readyFd: 17 });
  const ops = plan.child.map((s) => s.op);

  it('creates every pod namespace, user included', () => {
    for (const flag of [CLONE.NEWUSER, CLONE.NEWNS, CLONE.NEWPID, CLONE.NEWNET, CLONE.NEWIPC, CLONE.NEWUTS]) expect(plan.cloneFlags & flag).toBe(flag);
    expect(POD_NAMESPACES[0]).toBe('user');
  });

  it('maps ids from outside before releasing the child', () => {
    expect(plan.after.map((s) => s.op)).toEqual(['run', 'run', 'release']);
    expect(plan.after[0]).toEqual({ op: 'run', argv: ['/usr/bin/newuidmap', CHILD_PID, '0', '1000', '1', '1', '100000', '65536'] });
    expect(ops[0]).toBe('waitRelease');
  });

  it('sets the hostname, brings lo up, mounts a private /proc, and execs /pause last', () => {
    expect(ops).toContain('sethostname');
    expect(ops).toContain('loopbackUp');
    const mounts = plan.child.filter((s) => s.op === 'mount');
    expect(mounts.map((m) => (m.op === 'mount' ? m.target : ''))).toEqual(['/', '/proc']);
    const exec = plan.child.at(-1)!;
    expect(exec).toMatchObject({ op: 'exec', file: '/x/pause', argv: ['/pause'] });
  });

  it('sets the parent-death signal after every credential change', () => {
    expect(ops.indexOf('pdeathsig')).toBeGreaterThan(ops.indexOf('setIds'));
    expect(ops.indexOf('pdeathsig')).toBe(ops.length - 2);
  });

  it('keeps only the readiness pipe as fd 3', () => {
    expect(plan.child).toContainEqual({ op: 'keepFd', from: 17, to: 3 });
    expect(plan.child).toContainEqual({ op: 'closeFds', from: 4 });
  });
});

describe('id mappings', () => {
  it('writes maps directly for a single id, denying setgroups first', () => {
    const steps = mappingSteps({ kind: 'single', uid: 1000, gid: 1000, reason: 'x' });
    expect(steps.map((s) => (s.op === 'writeProc' ? s.file : s.op))).toEqual(['setgroups', 'uid_map', 'gid_map']);
  });

  it('maps everything 1:1 as root', () => {
    expect(mappingSteps({ kind: 'root' })).toContainEqual({ op: 'writeProc', file: 'uid_map', content: '0 0 4294967295\n' });
  });

  it('parses /etc/subuid by name or uid and ignores junk', () => {
    const text = '# comment\nalice:100000:65536\nbroken\n1001:200000:1000\n';
    expect(parseSubidFile(text, 'alice', 1000)).toEqual({ start: 100000, count: 65536 });
    expect(parseSubidFile(text, 'bob', 1001)).toEqual({ start: 200000, count: 1000 });
    expect(parseSubidFile(text, 'carol', 1002)).toBeNull();
  });
});

describe('exec plan', () => {
  it('joins all pod namespaces through the pidfd in one setns', () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['ps'], env: ['PATH=/bin'], cwd: '/', stdio: [-1, 1, 2], tty: false });
    expect(plan.middle).toEqual([{ op: 'setnsPidfd', pidfd: 9, flags: POD_CLONE_FLAGS }]);
    expect(plan.child.at(-1)).toMatchObject({ op: 'exec', file: 'ps', path: '/bin' });
  });

  it('makes the pty the controlling terminal with -t', () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['sh'], env: [], cwd: '/', stdio: [5, 5, 5], tty: true });
    const ops = plan.child.map((s) => s.op);
    expect(ops.indexOf('setsid')).toBeLessThan(ops.indexOf('setCtty'));
  });

  it('rejects an empty command', () => {
    expect(() => execPlan({ pausePidfd: 9, argv: [], env: [], cwd: '/', stdio: [-1, 1, 2], tty: false })).toThrow();
  });
});

describe('plan encoding', () => {
  it('writes the header the shim expects', () => {
    const buf = encodePlan(pausePlan({ hostname: 'h', mapping: full, pausePath: '/p', readyFd: 5 }));
    expect(buf.readUInt32LE(0)).toBe(0x5842534e);
    expect(buf.readUInt32LE(4)).toBe(1);
    expect(buf.readUInt32LE(24)).toBe(3); // after-steps
    expect(buf.length % 8).toBe(0);
  });

  it('refuses strings with NUL bytes', () => {
    expect(() => encodePlan(execPlan({ pausePidfd: 1, argv: ['a\0b'], env: [], cwd: '/', stdio: [-1, 1, 2], tty: false }))).toThrow(/NUL/);
  });
});
