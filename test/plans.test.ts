// Pure tests of the plans nsbox hands to the shim: order and content, with
// no privileges and no processes.
import { describe, expect, it } from 'vitest';
import { mappingSteps } from '../dist/idmap/mapping.js';
import { parseSubidFile } from '../dist/idmap/subid.js';
import { CHILD_PID, CLONE, encodePlan } from '../dist/native/plan.js';
import { execPlan, pausePlan, POD_JOIN_FLAGS, POD_NAMESPACES } from '../dist/pod/plans.js';
import { containerExecPlan, containerPlan } from '../dist/container/plans.js';

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
  const plan = pausePlan({ hostname: 'web', mapping: full, pauseFd: 21, readyFd: 17 });
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

  it('sets the hostname, brings lo up, and execs a private copy of the pause inside an empty, read-only root', () => {
    expect(ops).toContain('sethostname');
    expect(ops).toContain('loopbackUp');
    const mounts = plan.child.filter((s) => s.op === 'mount');
    expect(mounts.map((m) => (m.op === 'mount' ? [m.target, m.fstype] : []))).toEqual([
      ['/', ''],
      ['/tmp', 'tmpfs'],
      ['/', ''],
    ]);
    // Copied, not bound: nothing of the host (not even the user's own pause binary) is reachable through /proc/1.
    expect(plan.child).toContainEqual({ op: 'copyFile', sourceFd: 21, path: '/tmp/pause', mode: 0o555 });
    expect(ops.indexOf('copyFile')).toBeLessThan(ops.indexOf('pivotRoot'));
    expect(plan.child.find((s) => s.op === 'pivotRoot')).toEqual({ op: 'pivotRoot', path: '/tmp', putOld: '' });
    const remount = mounts.at(-1)!;
    expect(remount.op === 'mount' && remount.flags & 1).toBe(1); // MS_RDONLY, after the pivot
    expect(ops.lastIndexOf('mount')).toBeGreaterThan(ops.indexOf('pivotRoot'));
    expect(plan.child.at(-1)).toMatchObject({ op: 'exec', file: '/pause', argv: ['/pause'] });
  });

  it('sets the parent-death signal after every credential change', () => {
    expect(ops.indexOf('pdeathsig')).toBeGreaterThan(ops.indexOf('setIds'));
    expect(ops.indexOf('pdeathsig')).toBe(ops.length - 2);
  });

  it('keeps no fd but the readiness pipe as fd 3 (not even stdio)', () => {
    expect(plan.child).toContainEqual({ op: 'keepFd', from: 17, to: 3 });
    expect(plan.child).toContainEqual({ op: 'closeFds', from: 0 });
    expect(ops).not.toContain('stdio');
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

const hostView = { dirs: ['/usr', '/etc'], links: [{ path: '/bin', target: 'usr/bin' }] };
const fds = (a: number, b: number, c: number) => ({ fds: [a, b, c] as [number, number, number] });

describe('exec plan', () => {
  it("joins the pod's namespaces but the pause's empty mount namespace, and gets one of its own", () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['ps'], env: ['PATH=/bin'], cwd: '/', stdio: fds(-1, 1, 2), hostView, lockedView: false });
    expect(plan.middle).toEqual([{ op: 'setnsPidfd', pidfd: 9, flags: POD_JOIN_FLAGS }]);
    expect(POD_JOIN_FLAGS & CLONE.NEWNS).toBe(0);
    expect(plan.cloneFlags).toBe(CLONE.NEWNS);
    expect(plan.child.at(-1)).toMatchObject({ op: 'exec', file: 'ps', path: '/bin' });
  });

  it('sees only the host view, read-only, and enters its working directory inside it', () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['ps'], env: [], cwd: '/srv', stdio: fds(-1, 1, 2), hostView, lockedView: false });
    const binds = plan.child.filter((s) => s.op === 'mount' && s.flags & 4096 && !(s.flags & 32)).map((s) => (s.op === 'mount' ? s.source : ''));
    expect(binds.filter((b) => !b.startsWith('/dev/'))).toEqual(['/usr', '/etc']);
    for (const dir of ['/usr', '/etc']) expect(plan.child).toContainEqual(expect.objectContaining({ op: 'mount', target: `/tmp${dir}`, flags: 32 | 4096 | 16384 | 1 }));
    expect(plan.child).toContainEqual({ op: 'symlink', target: 'usr/bin', path: '/tmp/bin' });
    const ops = plan.child.map((s) => s.op);
    expect(ops.indexOf('pivotRoot')).toBeLessThan(ops.indexOf('chdir'));
    expect(plan.child.find((s) => s.op === 'chdir')).toEqual({ op: 'chdir', path: '/srv', scope: 'root' });
  });

  it('as root, builds the view before joining the pod, so the pod gets it locked read-only', () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['ps'], env: [], cwd: '/', stdio: fds(-1, 1, 2), hostView, lockedView: true });
    const mops = plan.middle.map((s) => s.op);
    expect(mops[0]).toBe('unshare');
    expect(plan.middle[1]).toMatchObject({ op: 'mount', target: '/', flags: 16384 | (1 << 18) }); // private before anything is mounted
    expect(mops.at(-1)).toBe('setnsPidfd');
    expect(plan.middle).toContainEqual(expect.objectContaining({ op: 'mount', source: '/usr', target: '/tmp/usr' }));
    expect(plan.child).not.toContainEqual(expect.objectContaining({ op: 'mount', source: '/usr' }));
    expect(plan.child[0]).toMatchObject({ op: 'mount', source: '/tmp', target: '/tmp', flags: 4096 | 16384 });
  });

  it('runs a program outside the view from the fd the caller opened', () => {
    const plan = execPlan({ pausePidfd: 9, argv: ['/home/u/tool'], env: [], cwd: '/', stdio: fds(-1, 1, 2), hostView, lockedView: false, execFd: 42 });
    expect(plan.child.at(-1)).toMatchObject({ op: 'exec', file: '/home/u/tool', execFd: 42 });
  });

  it('always starts a new session; with a terminal, makes it inside and sends the master back', () => {
    const piped = execPlan({ pausePidfd: 9, argv: ['sh'], env: [], cwd: '/', stdio: fds(5, 6, 7), hostView, lockedView: false }).child.map((s) => s.op);
    expect(piped).toContain('setsid');
    expect(piped).not.toContain('pty');
    const tty = execPlan({ pausePidfd: 9, argv: ['sh'], env: [], cwd: '/', stdio: { terminalSocket: 8, rows: 24, cols: 80 }, hostView, lockedView: false }).child;
    const ops = tty.map((s) => s.op);
    expect(ops).not.toContain('stdio');
    expect(ops.indexOf('setsid')).toBeLessThan(ops.indexOf('pty'));
    expect(ops.indexOf('pivotRoot')).toBeLessThan(ops.indexOf('pty'));
    expect(tty).toContainEqual({ op: 'pty', socketFd: 8, rows: 24, cols: 80 });
  });

  it('rejects an empty command', () => {
    expect(() => execPlan({ pausePidfd: 9, argv: [], env: [], cwd: '/', stdio: fds(-1, 1, 2), hostView, lockedView: false })).toThrow();
  });
});

describe('container plan', () => {
  const input = {
    pausePidfd: 3,
    mountPoint: '/state/c/rootfs',
    rootfs: { kind: 'overlay' as const, lowerDirs: ['/l1'], upperDir: '/u', workDir: '/w' },
    etcFiles: { hosts: '/state/c/hosts', resolvConf: '/state/c/resolv.conf', hostname: '/state/c/hostname' },
    readOnly: true,
    argv: ['sh'],
    env: [],
    workdir: '/app/src',
    user: { uid: 1000, gid: 1000 },
    canSetGroups: true,
    oldRootSuffix: 'abcd',
    stdio: [-1, 5, 6] as [number, number, number],
    namespaceSocket: 9,
    masks: { masked: [{ path: '/proc/kcore', dir: false }], readOnly: ['/proc/sys'] },
  };
  const plan = containerPlan(input);
  const ops = plan.child.map((s) => s.op);
  const afterPivot = plan.child.slice(ops.indexOf('pivotRoot') + 1);

  it('resolves every path after pivot_root inside the root, and kernel filesystems on real directories only', () => {
    for (const s of afterPivot) {
      if (s.op === 'mkdir' || s.op === 'touch' || s.op === 'symlink' || s.op === 'chdir' || s.op === 'mount') {
        expect(s.scope, `${s.op} ${JSON.stringify(s)}`).toMatch(/^root/);
      }
    }
    for (const target of ['/proc', '/sys', '/dev']) expect(afterPivot).toContainEqual(expect.objectContaining({ op: 'mount', target, scope: 'rootNoSymlinks' }));
  });

  it('creates the working directory before --read-only, and enters it only after the user change', () => {
    const mkdirs = afterPivot.filter((s) => s.op === 'mkdir').map((s) => (s.op === 'mkdir' ? s.path : ''));
    expect(mkdirs).toEqual(expect.arrayContaining(['/app', '/app/src']));
    expect(ops.lastIndexOf('mkdir')).toBeLessThan(ops.lastIndexOf('mount')); // the read-only remount comes last
    expect(ops.indexOf('chdir')).toBeGreaterThan(ops.indexOf('setIds'));
    expect(ops.indexOf('chdir')).toBeGreaterThan(ops.lastIndexOf('capabilities'));
  });

  it('sends its mount namespace first, before any step can fail or the command exit', () => {
    expect(plan.child[0]).toEqual({ op: 'sendMountNamespace', socketFd: 9 });
  });

  it('joins the pod but not the pause\'s mount namespace', () => {
    expect(plan.middle).toEqual([{ op: 'setnsPidfd', pidfd: 3, flags: POD_JOIN_FLAGS }]);
    expect(plan.cloneFlags).toBe(CLONE.NEWNS);
  });

  it('exec into it starts a new session and enters the directory as the user, inside the root', () => {
    const exec = containerExecPlan({ containerPidfd: 4, argv: ['sh'], env: [], cwd: '/app', user: { uid: 33, gid: 33 }, canSetGroups: true, stdio: fds(5, 6, 7) }).child;
    const eops = exec.map((s) => s.op);
    expect(eops).toContain('setsid');
    expect(eops.indexOf('chdir')).toBeGreaterThan(eops.indexOf('setIds'));
    expect(exec.find((s) => s.op === 'chdir')).toEqual({ op: 'chdir', path: '/app', scope: 'root' });
  });
});

describe('plan encoding', () => {
  it('writes the header the shim expects', () => {
    const buf = encodePlan(pausePlan({ hostname: 'h', mapping: full, pauseFd: 6, readyFd: 5 }));
    expect(buf.readUInt32LE(0)).toBe(0x5842534e);
    expect(buf.readUInt32LE(4)).toBe(2);
    expect(buf.readUInt32LE(24)).toBe(3); // after-steps
    expect(buf.length % 8).toBe(0);
  });

  it('refuses strings with NUL bytes', () => {
    expect(() => encodePlan(execPlan({ pausePidfd: 1, argv: ['a\0b'], env: [], cwd: '/', stdio: fds(-1, 1, 2), hostView, lockedView: false }))).toThrow(/NUL/);
  });
});
