// What a container cannot do (issue 6, isolation): see or signal host
// processes, reach host loopback services it was not given, hold privileges
// outside its user namespace, gain privileges through exec, read the
// kernel's sensitive /proc files, write /sys, change the host's mounts, or
// write a --read-only root; and what one pod cannot see of another.
import { readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASKED_PATHS, READONLY_PATHS, maskedPathsOnThisKernel } from '../dist/container/plans.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { between, mountAt, parseMountinfo } from './helpers/mountinfo.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
let hostService: Server;
let hostPort: number;

/** Runs a shell script in a fresh busybox container of `pod`; { code, stdout, stderr }. */
const sh = (pod: string, script: string, ...runArgs: string[]) => nsbox(root, ['run', '--pod', pod, ...runArgs, 'busybox', 'sh', '-c', script]);

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  for (const pod of ['iso', 'other']) expect(nsbox(root, ['pod', 'create', '--name', pod]).code).toBe(0);
  hostService = createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', () => r()));
  hostPort = (hostService.address() as { port: number }).port;
});
afterAll(() => {
  hostService?.close();
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`a container's isolation (${testMode})`, () => {
  it('sees only its pod\'s processes and cannot signal host processes', () => {
    // This test process is on the host; its pid means nothing in the pod's PID namespace.
    const r = sh('iso', `ps -o pid,args | tail -n +2 | wc -l; kill -0 ${process.pid} 2>&1; echo "kill=$?"; kill -0 1; echo "pause=$?"`);
    const [count, ...rest] = r.stdout.trim().split('\n');
    expect(Number(count)).toBeLessThanOrEqual(5); // pause, sh, ps, tail, wc: nothing of the host
    expect(rest.join('\n')).toMatch(/kill=1/);
    expect(rest.join('\n')).toMatch(/pause=0/);
  });

  it('cannot reach a host loopback service that was not published', () => {
    const r = sh('iso', `echo | nc -w 2 127.0.0.1 ${hostPort}; echo "rc=$?"`);
    expect(r.stdout).not.toContain('host secret');
    expect(r.stdout).toMatch(/rc=[1-9]/);
  });

  it('holds podman\'s default capabilities (none as a user), only in the pod\'s user namespace, with no_new_privs', () => {
    const r = sh('iso', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; readlink /proc/self/ns/user; cat /proc/self/uid_map');
    expect(sh('iso', 'grep CapEff /proc/self/status', '--user', '1000').stdout).toMatch(/CapEff:\s+0{16}/);
    expect(r.stdout).toMatch(/NoNewPrivs:\s+1/);
    // podman's default set, and only inside the pod's user namespace.
    expect(r.stdout).toMatch(/CapEff:\s+00000000800405fb/);
    // Its user namespace is not the host's: whatever CapEff says applies only to what that namespace owns.
    const hostUserns = readlinkSync('/proc/self/ns/user');
    expect(r.stdout).toMatch(/user:\[\d+\]/);
    expect(r.stdout).not.toContain(hostUserns);
    if (testMode === 'rootless') expect(r.stdout).not.toMatch(/^\s*0\s+0\s+4294967295\s*$/m);
    // What needs privileges over the host fails: a block device node (a fifo, which needs none, works).
    // Kernel settings are checked by the flags of their mount, never by writing one: a write that
    // worked would change the host.
    const p = sh('iso', 'mknod /tmp/fifo p; echo "fifo=$?"; mknod /tmp/disk b 8 0 2>/dev/null; echo "mknod=$?"; echo ===; cat /proc/self/mountinfo; echo ===');
    expect(p.stdout).toMatch(/fifo=0\nmknod=1\n/);
    const procSys = mountAt(parseMountinfo(between(p.stdout, '===', '===')), '/proc/sys');
    expect(procSys?.fsType).toBe('proc');
    expect(procSys?.options).toContain('ro');
  });

  it('--cap-add and --cap-drop change the set, and exec --join gets the container\'s set', async () => {
    const mtu = 'ip link set lo mtu 1400 2>/dev/null; echo "mtu=$?"; grep CapEff /proc/self/status';
    expect(sh('iso', mtu).stdout).toMatch(/mtu=[1-9]\d*\nCapEff:\s+00000000800405fb/);
    expect(sh('iso', mtu, '--cap-add', 'NET_ADMIN').stdout).toMatch(/mtu=0\nCapEff:\s+00000000800415fb/);
    expect(sh('iso', 'grep CapEff /proc/self/status', '--cap-drop', 'ALL').stdout).toMatch(/CapEff:\s+0{16}/);
    expect(sh('iso', 'grep CapEff /proc/self/status', '--cap-drop', 'ALL', '--cap-add', 'cap_kill').stdout).toMatch(/CapEff:\s+0{14}20/);
    const bad = nsbox(root, ['run', '--pod', 'iso', '--cap-add', 'FLY', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr.trim()).toBe('nsbox: unknown capability "FLY" in --cap-add: use names such as NET_ADMIN or CAP_NET_RAW, or ALL (see capabilities(7))');
    expect(nsbox(root, ['run', '-d', '--pod', 'iso', '--name', 'netadmin', '--cap-add', 'NET_ADMIN', 'busybox', 'sleep', '60']).code).toBe(0);
    expect(nsbox(root, ['exec', '--join', 'netadmin', 'iso', '--', 'grep', 'CapEff', '/proc/self/status']).stdout).toMatch(/CapEff:\s+00000000800415fb/);
    expect(nsbox(root, ['rm', '-f', 'iso/netadmin']).code).toBe(0);
  });

  it('finds the kernel\'s sensitive /proc files masked or read-only, and /sys read-only', () => {
    const { masked, readOnly } = maskedPathsOnThisKernel();
    // This kernel has at least some of them; the rest do not exist here at all.
    expect(masked.length + readOnly.length).toBeGreaterThan(3);
    expect(MASKED_PATHS).toContain('/proc/kcore');
    expect(READONLY_PATHS).toContain('/proc/sysrq-trigger');
    const checks = [
      ...masked.map((m) => (m.dir ? `[ -z "$(ls -A ${m.path})" ] && echo "empty ${m.path}"` : `[ ! -s ${m.path} ] && head -c 1 ${m.path} | wc -c | grep -qx 0 && echo "empty ${m.path}"`)),
      ...readOnly.map((p) => `touch ${p === '/proc/sysrq-trigger' ? p : `${p}/x`} 2>/dev/null || echo "ro ${p}"`),
      'grep -q " /sys sysfs ro," /proc/mounts && echo "sysfs mounted ro"',
    ];
    const r = sh('iso', checks.join('; '));
    for (const m of masked) expect(r.stdout, m.path).toContain(`empty ${m.path}`);
    for (const p of readOnly) expect(r.stdout, p).toContain(`ro ${p}`);
    expect(r.stdout).toContain('sysfs mounted ro');
    // The host's own /proc/sys stays as it was (the container only saw a read-only view).
    expect(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim().length).toBeGreaterThan(0);
  });

  it("cannot change mounts: no mount or umount works inside, and the host's stay as they were", () => {
    const before = readFileSync('/proc/self/mountinfo', 'utf8');
    const r = sh('iso', 'mkdir -p /mnt/x; mount -t tmpfs nsbox-isolation-probe /mnt/x 2>/dev/null; echo "mount=$?"; umount /proc/sys 2>/dev/null; echo "umount=$?"; mount -o remount,rw /sys 2>/dev/null; echo "remount=$?"');
    expect(r.stdout).toMatch(/mount=[1-9]\d*\numount=[1-9]\d*\nremount=[1-9]\d*/);
    const after = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(after).not.toContain('nsbox-isolation-probe');
    expect(after.split('\n').length).toBe(before.split('\n').length);
  });

  it('with --read-only has a read-only root, and writable /tmp', () => {
    const r = sh('iso', 'touch /rootfile 2>/dev/null || echo "root ro"; touch /tmp/ok && echo "tmp rw"', '--read-only');
    expect(r.stdout).toBe('root ro\ntmp rw\n');
  });
});

describe(`pods are isolated from each other (${testMode})`, () => {
  it("one pod sees none of another's processes, IPC or loopback", async () => {
    expect(nsbox(root, ['run', '-d', '--pod', 'other', '--name', 'svc', 'busybox', 'sh', '-c', 'ipcmk -Q >/dev/null; nc -ll -p 7777 -e echo other-secret']).code).toBe(0);
    // The service is up in its own pod...
    let own = '';
    for (let i = 0; i < 50 && !own.includes('other-secret'); i++) own = sh('other', 'nc -w 1 127.0.0.1 7777 </dev/null').stdout;
    expect(own).toContain('other-secret');
    // ...and invisible from the first pod: processes, System V IPC, loopback.
    const r = sh('iso', 'ps -o args | grep -c "[n]c -ll -p 7777"; ipcs -q | grep -c "^0x"; nc -w 1 127.0.0.1 7777 </dev/null; echo "nc=$?"');
    const [procs, queues, ...rest] = r.stdout.trim().split('\n');
    expect(procs).toBe('0');
    expect(queues).toBe('0');
    expect(rest.join('\n')).not.toContain('other-secret');
    expect(nsbox(root, ['rm', '-f', 'other/svc']).code).toBe(0);
  });
});
