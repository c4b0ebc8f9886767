// What a container cannot do (issue 6, isolation): see or signal host
// processes, reach host loopback services it was not given, hold privileges
// outside its user namespace, gain privileges through exec, read the
// kernel's sensitive /proc files, write /sys, change the host's mounts, or
// write a --read-only root; and what one pod cannot see of another.
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { artifacts } from '../dist/native/artifacts.js';
import { importBusybox } from './helpers/busybox.js';
import { expectCanaryIntact, plantCanary, type HostCanary } from './helpers/canary.js';
import { yieldToEventLoop } from './helpers/cli-process.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { between, mountAt, parseMountinfo, type MountEntry } from './helpers/mountinfo.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
let canary: HostCanary;
let hostService: Server;
let hostPort: number;

/** Runs a shell script in a fresh busybox container of `pod`; { code, stdout, stderr }. */
const sh = (pod: string, script: string, ...runArgs: string[]) => nsbox(root, ['run', '--pod', pod, ...runArgs, 'busybox', 'sh', '-c', script]);

/** The container's own mounts, as it sees them (printed between === lines by MOUNTINFO). */
const MOUNTINFO = 'echo ===; cat /proc/self/mountinfo; echo ===';
const mountsIn = (stdout: string): MountEntry[] => parseMountinfo(between(stdout, '===', '==='));

/**
 * runc's masked and read-only kernel paths, the specification here (not the
 * module's own list): masked files are covered by /dev/null, masked
 * directories by an empty read-only tmpfs, and the read-only ones are
 * read-only binds of procfs. Only those that exist on this kernel.
 */
const MASKED = ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
const READ_ONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
const kindOnHost = (p: string) => {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return null;
  }
};

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  importImage(root, 'probe', [{ path: 'bin/nsbox-probe', content: readFileSync(artifacts.probe), mode: 0o755 }]);
  for (const pod of ['iso', 'other']) expect(nsbox(root, ['pod', 'create', '--name', pod]).code).toBe(0);
  hostService = createServer((s) => s.end('host secret\n'));
  await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', () => r()));
  hostPort = (hostService.address() as { port: number }).port;
});
beforeEach(async () => {
  await yieldToEventLoop();
  canary = plantCanary(root);
});
afterAll(() => {
  hostService?.close();
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`a container's isolation (${testMode})`, () => {
  it('sees only its pod\'s processes and cannot signal host processes', () => {
    // This test process is on the host; its pid means nothing in the pod's PID namespace.
    const r = sh('iso', `ps -o pid,args > /tmp/ps; kill -0 ${process.pid} 2>/dev/null; echo "kill=$?"; kill -0 1; echo "pause=$?"; cat /tmp/ps`);
    expect(r.stdout).toMatch(/^kill=1\npause=0\n/);
    // Exactly the pause, this shell and its ps: nothing of the host, and nothing missing.
    const procs = r.stdout.split('\n').slice(3).filter(Boolean).map((l) => /^\s*(\d+)\s+(.*)$/.exec(l)!.slice(1));
    // (busybox's ps runs inside the shell's process, so it shows as {ps} with the shell's args)
    const script = /^sh -c ps -o pid,args > \/tmp\/ps; /;
    expect(procs.map(([, args]) => args)).toEqual(['/pause', expect.stringMatching(script), expect.stringMatching(/^(\{ps\} sh -c ps -o pid,args > \/tmp\/ps; |ps -o pid,args$)/)]);
    expect(procs[0]![0]).toBe('1');
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });

  it('cannot reach a host loopback service that was not published', async () => {
    // Positive controls: the host service answers on the host, and the same nc reaches a listener in the pod.
    const fromHost = await new Promise<string>((resolve, reject) => {
      let got = '';
      connect({ host: '127.0.0.1', port: hostPort })
        .on('data', (d) => (got += d))
        .on('end', () => resolve(got))
        .on('error', reject);
    });
    expect(fromHost).toBe('host secret\n');
    const script = [
      'nc -ll -p 7001 -e echo pod-local & l=$!',
      'for i in $(seq 50); do own=$(nc -w 1 127.0.0.1 7001 </dev/null 2>/dev/null) && [ -n "$own" ] && break; sleep 0.1; done',
      'echo "own=[$own]"',
      `echo | nc -w 2 127.0.0.1 ${hostPort} 2>&1; echo "rc=$?"`,
      'kill $l',
    ].join('; ');
    const r = sh('iso', script);
    expect(r.stdout).toContain('own=[pod-local]');
    expect(r.stdout).not.toContain('host secret');
    expect(r.stdout).toMatch(/Connection refused\nrc=1\n/);
    expectCanaryIntact(canary, r.stdout, r.stderr);
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
    expectCanaryIntact(canary, r.stdout, p.stdout);
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
    expectCanaryIntact(canary);
  });

  it("finds the kernel's sensitive /proc and /sys paths masked or read-only, as its mountinfo shows", () => {
    const masked = MASKED.filter((p) => kindOnHost(p) !== null);
    const readOnly = READ_ONLY.filter((p) => kindOnHost(p) !== null);
    // This kernel has some of each kind, or the checks below would prove nothing.
    expect(masked.filter((p) => kindOnHost(p) === 'dir').length).toBeGreaterThan(0);
    expect(masked.filter((p) => kindOnHost(p) === 'file').length).toBeGreaterThan(0);
    expect(readOnly.length).toBeGreaterThan(0);
    const r = sh('iso', MOUNTINFO);
    const mounts = mountsIn(r.stdout);
    // Positive controls: the probe tells ro from rw (its /proc is rw), and sees the /dev/null bind.
    const proc = mountAt(mounts, '/proc');
    expect(proc?.fsType).toBe('proc');
    expect(proc?.options).toContain('rw');
    const devNull = mountAt(mounts, '/dev/null');
    expect(devNull?.root).toBe('/null');
    for (const p of masked) {
      const m = mountAt(mounts, p);
      if (kindOnHost(p) === 'dir') {
        expect({ path: p, fsType: m?.fsType, ro: m?.options.includes('ro') }).toEqual({ path: p, fsType: 'tmpfs', ro: true });
      } else {
        expect({ path: p, root: m?.root, device: m?.device }).toEqual({ path: p, root: '/null', device: devNull!.device });
      }
    }
    for (const p of readOnly) {
      const m = mountAt(mounts, p);
      expect({ path: p, fsType: m?.fsType, ro: m?.options.includes('ro') }).toEqual({ path: p, fsType: 'proc', ro: true });
    }
    const sys = mountAt(mounts, '/sys');
    expect({ fsType: sys?.fsType, ro: sys?.options.includes('ro') }).toEqual({ fsType: 'sysfs', ro: true });
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });

  it('cannot change mounts: no mount, umount or remount works inside', () => {
    const probeMount = `mkdir -p /mnt/x; mount -t tmpfs nsbox-isolation-probe /mnt/x 2>/dev/null; echo "mount=$?"; ${MOUNTINFO}`;
    // Positive control: with CAP_SYS_ADMIN the same mount works, and the container's mountinfo shows it.
    const admin = sh('iso', probeMount, '--cap-add', 'SYS_ADMIN');
    expect(admin.stdout).toMatch(/^mount=0\n/);
    expect(mountAt(mountsIn(admin.stdout), '/mnt/x')?.source).toBe('nsbox-isolation-probe');
    const hostBefore = readFileSync('/proc/self/mountinfo', 'utf8');
    const r = sh('iso', `${probeMount}; umount /proc/sys 2>/dev/null; echo "umount=$?"; mount -o remount,rw /sys 2>/dev/null; echo "remount=$?"; ${MOUNTINFO}`);
    expect(r.stdout).toMatch(/^mount=[1-9]\d*\n/);
    expect(r.stdout).toMatch(/\numount=[1-9]\d*\nremount=[1-9]\d*\n/);
    const after = mountsIn(r.stdout.slice(r.stdout.indexOf('umount=')));
    expect(mountAt(after, '/mnt/x')).toBeUndefined();
    expect(mountAt(after, '/proc/sys')?.options).toContain('ro');
    expect(mountAt(after, '/sys')?.options).toContain('ro');
    // Nor did anything reach the host's mount namespace.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('nsbox-isolation-probe');
    expect(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length).toBe(hostBefore.split('\n').length);
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });

  it('with --read-only has a read-only root, and writable /tmp', () => {
    // Positive control: without --read-only the same touch works.
    expect(sh('iso', 'touch /rootfile && echo "root rw"').stdout).toBe('root rw\n');
    const r = sh('iso', `touch /rootfile 2>/dev/null || echo "root ro"; touch /tmp/ok && echo "tmp rw"; ${MOUNTINFO}`, '--read-only');
    expect(r.stdout).toMatch(/^root ro\ntmp rw\n/);
    expect(mountAt(mountsIn(r.stdout), '/')?.options).toContain('ro');
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });
});

describe(`pods are isolated from each other (${testMode})`, () => {
  it("one pod sees none of another's processes, IPC, hostname or loopback", async () => {
    const svc = 'nsbox-probe mq-create nsbox-iso-queue && nsbox-probe shm-create 4242 && nc -ll -p 7777 -e echo other-secret';
    expect(nsbox(root, ['run', '-d', '--pod', 'other', '--name', 'svc', 'probe', 'sh', '-c', svc]).code).toBe(0);
    // The service is up in its own pod...
    let own = '';
    for (let i = 0; i < 50 && !own.includes('other-secret'); i++) own = sh('other', 'nc -w 1 127.0.0.1 7777 </dev/null').stdout;
    expect(own).toContain('other-secret');
    // ...and the same probes see its process, its message queue, its shared memory and its hostname from inside its pod...
    const probe = [
      'ps -o args | grep -c "[n]c -ll -p 7777"',
      'nsbox-probe mq-exists nsbox-iso-queue; echo "mq=$?"',
      'nsbox-probe shm-exists 4242; echo "shm=$?"',
      'hostname',
      'nc -w 1 127.0.0.1 7777 </dev/null; echo "nc=$?"',
    ].join('; ');
    const inOwnPod = nsbox(root, ['run', '--pod', 'other', 'probe', 'sh', '-c', probe]);
    expect(inOwnPod.stdout).toBe('1\nmq=0\nshm=0\nother\nother-secret\nnc=0\n');
    // ...but none of them from the first pod: processes, System V IPC, hostname, loopback.
    const r = nsbox(root, ['run', '--pod', 'iso', 'probe', 'sh', '-c', probe]);
    const [procs, mq, shm, hostname, ...rest] = r.stdout.trim().split('\n');
    expect([procs, mq, shm, hostname]).toEqual(['0', 'mq=1', 'shm=1', 'iso']);
    expect(rest.join('\n')).not.toContain('other-secret');
    expect(rest.join('\n')).toMatch(/nc=[1-9]/);
    expect(nsbox(root, ['rm', '-f', 'other/svc']).code).toBe(0);
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });
});
