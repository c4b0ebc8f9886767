// `nsbox check`: parsing tests point the probes at files written here (fake
// /etc/subuid, mountinfo, sysctls, programs that are not ours); the rest run
// the checks for real on this machine (the built artifacts, a real pod and
// container), and inside real namespaces that break it (a masked /proc, an
// unmapped user), and check the verdicts against what the kernel does.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCheckReport, type CheckReport, type CheckResult } from '../dist/check/check.js';
import { runChecks } from '../dist/api/check.js';
import { createPod } from '../dist/index.js';
import { checkArtifacts, checkExecHelper, checkFlockAddon, checkForwarder, checkKeeper, checkPause, checkProbe, checkShim, installedArtifacts, loadInstalledShim } from '../dist/check/artifacts.js';
import { probePod, type PodProbe } from '../dist/check/live-pod.js';
import { checkContainer, checkPod } from '../dist/check/pod-checks.js';
import {
  checkAppArmor,
  checkCgroup,
  checkIdmapHelpers,
  checkNetworkModes,
  checkOverlay,
  checkProcMask,
  checkRuntimeDir,
  checkSubids,
  checkUserNamespaces,
  classifyUsernsFailure,
  defaultCheckEnv,
  freeSubidStart,
  maskedProcPaths,
  parseKernelVersion,
  parseMountPoints,
  type CheckEnv,
  type SpawnProbe,
} from '../dist/check/probes.js';

const ALL_IDS = ['shim', 'pause', 'forwarder', 'keeper', 'exec-helper', 'flock-addon', 'probe', 'userns', 'apparmor', 'subid', 'idmap-helpers', 'runtime-dir', 'proc-mask', 'overlay', 'cgroup', 'network', 'pod', 'container'];
const uid = process.geteuid!();
const tmp = mkdtempSync(join(tmpdir(), 'nsbox-check-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function file(text: string): string {
  const p = join(tmp, `f${n++}`);
  writeFileSync(p, text);
  return p;
}
const absent = join(tmp, 'does-not-exist');

/** The real machine's env with some parts replaced. */
function envWith(over: Partial<Omit<CheckEnv, 'files'>> & { files?: Partial<CheckEnv['files']> } = {}): CheckEnv {
  const d = defaultCheckEnv();
  return { ...d, ...over, files: { ...d.files, ...over.files } };
}

const okProbe: SpawnProbe = { ran: true, ok: true, status: 0, stderr: '' };
const failed = (stderr: string): SpawnProbe => ({ ran: true, ok: false, status: 1, stderr });
// util-linux's messages, as printed on Ubuntu 24.04 (AppArmor) and in an unmapped namespace.
const UBUNTU_MAP_EPERM = 'unshare: write failed /proc/self/uid_map: Operation not permitted\n';
const UNSHARE_EPERM = 'unshare: unshare failed: Operation not permitted\n';
const UNSHARE_ENOSPC = 'unshare: unshare failed: No space left on device\n';

describe('user namespaces check', () => {
  it('passes when the live probe works', () => {
    expect(checkUserNamespaces(envWith({ uid: 1000 }), okProbe)).toMatchObject({ status: 'ok', detail: 'unprivileged user namespaces work' });
  });

  it('as root passes but notes a sysctl that blocks other users', () => {
    const r = checkUserNamespaces(envWith({ uid: 0, files: { unprivUsernsClone: file('0\n') } }), okProbe);
    expect(r.status).toBe('ok');
    expect(r.detail).toContain('kernel.unprivileged_userns_clone=0');
  });

  it('fails on kernel.unprivileged_userns_clone=0 with the sysctl fix', () => {
    const r = checkUserNamespaces(envWith({ uid: 1000, files: { unprivUsernsClone: file('0\n') } }), failed(UNSHARE_EPERM));
    expect(r.status).toBe('fail');
    expect(r.fix).toContain('sudo sysctl -w kernel.unprivileged_userns_clone=1');
  });

  it('fails on user.max_user_namespaces=0, even as root', () => {
    const r = checkUserNamespaces(envWith({ uid: 0, files: { maxUserNamespaces: file('0\n') } }), failed(UNSHARE_ENOSPC));
    expect(r.status).toBe('fail');
    expect(r.fix).toContain('sudo sysctl -w user.max_user_namespaces=15000');
  });

  it('names the limit when unshare reports ENOSPC', () => {
    const r = checkUserNamespaces(envWith({ uid: 1000, files: { maxUserNamespaces: file('10\n'), unprivUsernsClone: absent } }), failed(UNSHARE_ENOSPC));
    expect(r).toMatchObject({ status: 'fail', fix: expect.stringContaining('user.max_user_namespaces') });
  });

  it('points an id-map denial at the AppArmor check', () => {
    const r = checkUserNamespaces(envWith({ uid: 1000, files: { unprivUsernsClone: absent, maxUserNamespaces: file('100\n') } }), failed(UBUNTU_MAP_EPERM));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('/proc/self/uid_map: Operation not permitted');
    expect(r.fix).toContain('AppArmor');
  });

  it('warns, not fails, when unshare is missing and the sysctls allow namespaces', () => {
    const missing: SpawnProbe = { ran: false, ok: false, status: null, stderr: '', error: 'ENOENT' };
    const r = checkUserNamespaces(envWith({ uid: 1000, files: { unprivUsernsClone: absent, maxUserNamespaces: file('100\n') } }), missing);
    expect(r).toMatchObject({ status: 'warn', fix: 'sudo apt-get install util-linux' });
    expect(r.detail).toContain('not found');
  });

  it('classifies util-linux failure messages', () => {
    expect(classifyUsernsFailure(UBUNTU_MAP_EPERM)).toBe('map-denied');
    expect(classifyUsernsFailure('unshare: cannot open /proc/self/setgroups: Permission denied')).toBe('map-denied');
    expect(classifyUsernsFailure(UNSHARE_ENOSPC)).toBe('limit');
    expect(classifyUsernsFailure(UNSHARE_EPERM)).toBe('denied');
    expect(classifyUsernsFailure('unshare: unshare failed: Invalid argument')).toBe('invalid');
    expect(classifyUsernsFailure('something else')).toBe('other');
  });
});

describe('AppArmor check', () => {
  const restricted = () => file('1\n');

  it('fails for a user when the restriction is on, with the sysctl fix', () => {
    const r = checkAppArmor(envWith({ uid: 1000, files: { apparmorRestrict: restricted() } }), failed(UBUNTU_MAP_EPERM));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('uid_map');
    expect(r.fix).toContain('sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0');
  });

  it('only warns for root, which the restriction exempts', () => {
    const r = checkAppArmor(envWith({ uid: 0, files: { apparmorRestrict: restricted() } }), okProbe);
    expect(r.status).toBe('warn');
  });

  it('detects the restriction by its effect when the sysctl is absent', () => {
    const r = checkAppArmor(envWith({ uid: 1000, files: { apparmorRestrict: absent } }), failed(UBUNTU_MAP_EPERM));
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('writing its id map fails');
  });

  it('passes when the sysctl is 0 or absent and maps can be written', () => {
    expect(checkAppArmor(envWith({ uid: 1000, files: { apparmorRestrict: file('0\n') } }), okProbe).status).toBe('ok');
    expect(checkAppArmor(envWith({ uid: 1000, files: { apparmorRestrict: absent } }), okProbe).status).toBe('ok');
    // A different failure is the userns check's business, not AppArmor's.
    expect(checkAppArmor(envWith({ uid: 1000, files: { apparmorRestrict: absent } }), failed(UNSHARE_EPERM)).status).toBe('ok');
  });
});

describe('subuid/subgid check', () => {
  const ranges = 'alice:100000:65536\n# comment\nbob:165536:65536\n';

  it('is skipped as root', () => {
    expect(checkSubids(envWith({ uid: 0, files: { subuid: absent, subgid: absent } }))).toMatchObject({
      status: 'ok',
      detail: 'running as root: ids are mapped 1:1',
    });
  });

  it('finds the range by name and by uid', () => {
    const byName = checkSubids(envWith({ uid: 1000, user: 'bob', files: { subuid: file(ranges), subgid: file(ranges) } }));
    expect(byName).toMatchObject({ status: 'ok', detail: 'user bob: uids 165536+65536, gids 165536+65536' });
    const byUid = checkSubids(envWith({ uid: 1234, user: 'carol', files: { subuid: file('1234:300000:65536\n'), subgid: file('1234:300000:65536\n') } }));
    expect(byUid.status).toBe('ok');
  });

  it('warns with a usermod fix whose range overlaps nobody', () => {
    const r = checkSubids(envWith({ uid: 1001, user: 'dave', files: { subuid: file(ranges), subgid: file(ranges) } }));
    expect(r.status).toBe('warn');
    expect(r.detail).toContain('no range in');
    expect(r.detail).toContain('nginx');
    expect(r.fix).toBe('sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 dave');
  });

  it('warns when the files are missing, naming which one', () => {
    const r = checkSubids(envWith({ uid: 1001, user: 'dave', files: { subuid: file(ranges.replace('bob', 'dave')), subgid: absent } }));
    expect(r.status).toBe('warn');
    expect(r.detail).toContain(`${absent} is missing`);
    expect(r.detail).not.toContain('subuid');
    // dave has uids: only the gid range is added, above every range in use.
    expect(r.fix).toBe('sudo usermod --add-subgids 231072-296607 dave');
  });

  it('warns when the range is too short for images that use id 65534', () => {
    const r = checkSubids(envWith({ uid: 1000, user: 'eve', files: { subuid: file('eve:100000:1000\n'), subgid: file('eve:100000:65536\n') } }));
    expect(r.status).toBe('warn');
    expect(r.detail).toContain('only 1000');
    expect(r.fix).toBe('sudo usermod --del-subuids 100000-100999 --add-subuids 165536-231071 eve');
  });

  it('picks a free range above every existing one', () => {
    expect(freeSubidStart('')).toBe(100000);
    expect(freeSubidStart('a:100000:65536\n', 'b:500000:10\n')).toBe(500010);
  });
});

describe('newuidmap/newgidmap check', () => {
  function helperDir(mode: number): string {
    const dir = join(tmp, `bin${n++}`);
    mkdirSync(dir);
    for (const name of ['newuidmap', 'newgidmap']) {
      writeFileSync(join(dir, name), '#!/bin/sh\n');
      chmodSync(join(dir, name), mode);
    }
    return dir;
  }

  it('is not needed as root', () => {
    expect(checkIdmapHelpers(envWith({ uid: 0, searchDirs: [] })).status).toBe('ok');
  });

  it('warns with the uidmap package when they are missing', () => {
    const r = checkIdmapHelpers(envWith({ uid: 1000, searchDirs: [join(tmp, 'empty')] }));
    expect(r).toMatchObject({ status: 'warn', fix: 'sudo apt-get install uidmap' });
    expect(r.detail).toContain('newuidmap and newgidmap not found');
  });

  it('warns when they are neither setuid root nor have file caps', () => {
    const dir = helperDir(0o755);
    const getcapDirs = ['/usr/sbin', '/sbin'].filter((d) => existsSync(join(d, 'getcap')));
    const r = checkIdmapHelpers(envWith({ uid: 1000, searchDirs: [dir, ...getcapDirs] }));
    expect(r.status).toBe('warn');
    // With getcap we know there are no caps; without it we say we cannot tell.
    if (getcapDirs.length) expect(r.fix).toContain(`sudo chmod u+s ${dir}/newuidmap`);
    else expect(r.fix).toContain('libcap2-bin');
  });

  it('says file caps are unknown when getcap is missing', () => {
    const r = checkIdmapHelpers(envWith({ uid: 1000, searchDirs: [helperDir(0o755)] }));
    expect(r.status).toBe('warn');
    expect(r.detail).toContain('getcap is unavailable');
  });

  it('passes setuid-root helpers, judged by the real mode bits', () => {
    const dir = helperDir(0o4755);
    const r = checkIdmapHelpers(envWith({ uid: 1000, searchDirs: [dir] }));
    // Only root can make a root-owned setuid file: as a user, ours is setuid but not root's.
    if (uid === 0) expect(r).toMatchObject({ status: 'ok', detail: expect.stringContaining('setuid root') });
    else expect(r.status).toBe('warn');
  });
});

describe('XDG_RUNTIME_DIR check', () => {
  it('warns when unset, with the su -l fix', () => {
    const r = checkRuntimeDir(envWith({ uid: 1000, user: 'bob', env: {} }));
    expect(r.status).toBe('warn');
    expect(r.detail).toBe('not set: state goes to /tmp/nsbox-1000');
    expect(r.fix).toContain('su -l bob');
    expect(r.fix).toContain('XDG_RUNTIME_DIR=/run/user/$(id -u)');
  });

  it('passes an own directory with mode 700, warns on anything else', () => {
    const dir = join(tmp, `run${n++}`);
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    expect(checkRuntimeDir(envWith({ uid, env: { XDG_RUNTIME_DIR: dir } })).status).toBe('ok');
    // Another user's directory: what `su` without -l leaves behind.
    const other = checkRuntimeDir(envWith({ uid: uid + 1, env: { XDG_RUNTIME_DIR: dir } }));
    expect(other).toMatchObject({ status: 'warn', detail: expect.stringContaining(`belongs to uid ${uid}`) });
    chmodSync(dir, 0o755);
    expect(checkRuntimeDir(envWith({ uid, env: { XDG_RUNTIME_DIR: dir } }))).toMatchObject({ status: 'warn', fix: `chmod 700 ${dir}` });
    expect(checkRuntimeDir(envWith({ uid, env: { XDG_RUNTIME_DIR: absent } })).detail).toContain('does not exist');
    expect(checkRuntimeDir(envWith({ uid, env: { XDG_RUNTIME_DIR: file('x') } })).detail).toContain('not a directory');
  });
});

describe('masked /proc check', () => {
  // What `docker run` (default) shows: tmpfs and /dev/null over proc files, read-only binds.
  const dockerMountinfo = [
    '600 500 0:50 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
    '601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
    '602 601 0:52 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw',
    '603 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
    '604 601 0:53 / /proc/acpi ro,relatime - tmpfs tmpfs ro',
    '605 601 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw,size=4k',
    '606 601 0:5 /null /proc/sysrq-trigger rw,nosuid - devtmpfs udev rw',
    '607 601 0:5 /null /proc/timer_list rw,nosuid - devtmpfs udev rw',
    '',
  ].join('\n');

  it('parses mount points and undoes octal escapes', () => {
    expect(parseMountPoints('1 0 0:1 / /mnt/a\\040b rw - tmpfs tmpfs rw\n')).toEqual(['/mnt/a b']);
    expect(maskedProcPaths(dockerMountinfo)).toEqual(['/proc/bus', '/proc/sys', '/proc/acpi', '/proc/kcore', '/proc/sysrq-trigger', '/proc/timer_list']);
  });

  it('fails on a docker-style masked /proc, with the unmask fix', () => {
    const r = checkProcMask(envWith({ files: { mountinfo: file(dockerMountinfo) } }), null);
    expect(r.status).toBe('fail');
    expect(r.detail).toContain('/proc/bus, /proc/sys, /proc/acpi, /proc/kcore, /proc/sysrq-trigger, … (6 in all)');
    expect(r.fix).toContain('--security-opt unmask=ALL');
    expect(r.fix).toContain('--security-opt systempaths=unconfined');
  });

  it('ignores binfmt_misc and /proc itself', () => {
    const text = '22 27 0:21 / /proc rw - proc proc rw\n40 22 0:40 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw\n41 27 0:41 / /procfoo rw - tmpfs t rw\n';
    expect(checkProcMask(envWith({ files: { mountinfo: file(text) } }), null).status).toBe('ok');
  });

  it('fails when the live procfs mount fails even though nothing shows in mountinfo', () => {
    const clean = file('22 27 0:21 / /proc rw - proc proc rw\n');
    const r = checkProcMask(envWith({ files: { mountinfo: clean } }), () => failed('unshare: mount /proc failed: Operation not permitted\n'));
    expect(r).toMatchObject({ status: 'fail', detail: expect.stringContaining('mount /proc failed') });
  });
});

describe('overlay and cgroup checks', () => {
  const fsWithOverlay = file('nodev\tsysfs\nnodev\tproc\n\text4\nnodev\toverlay\n');

  it('parses kernel releases', () => {
    expect(parseKernelVersion('6.8.0-31-generic')).toEqual({ major: 6, minor: 8 });
    expect(parseKernelVersion('5.10.0-28-amd64')).toEqual({ major: 5, minor: 10 });
    expect(parseKernelVersion('garbage')).toBeNull();
  });

  it('needs Linux 5.11 and overlay in /proc/filesystems', () => {
    expect(checkOverlay(envWith({ kernelRelease: '5.11.0', files: { filesystems: fsWithOverlay } })).status).toBe('ok');
    const old = checkOverlay(envWith({ kernelRelease: '5.10.0-28-amd64', files: { filesystems: fsWithOverlay } }));
    expect(old).toMatchObject({ status: 'warn', detail: expect.stringContaining('older than 5.11') });
    const noModule = checkOverlay(envWith({ kernelRelease: '6.1.0', files: { filesystems: file('nodev\tproc\n\text4\n') } }));
    expect(noModule).toMatchObject({ status: 'warn', fix: expect.stringContaining('sudo modprobe overlay') });
  });

  it('takes the verdict of a live container over the prediction', () => {
    const modern = { kernelRelease: '6.1.0', files: { filesystems: fsWithOverlay } };
    expect(checkOverlay(envWith(modern), { rootfs: 'overlay', overlayRefusal: null })).toMatchObject({ status: 'ok', detail: expect.stringContaining("a container's root was mounted as overlayfs") });
    const refused = checkOverlay(envWith(modern), { rootfs: 'copy', overlayRefusal: 'EPERM' });
    expect(refused).toMatchObject({ status: 'warn', detail: expect.stringContaining('refused (EPERM)'), fix: expect.stringContaining('NSBOX_ROOT') });
    // On an old kernel the refusal is shown with the kernel's fix.
    const old = checkOverlay(envWith({ ...modern, kernelRelease: '5.10.0' }), { rootfs: 'copy', overlayRefusal: 'EINVAL' });
    expect(old).toMatchObject({ status: 'warn', detail: expect.stringContaining('refused (EINVAL)'), fix: expect.stringContaining('kernel >= 5.11') });
  });

  it('reports cgroup v2 when cgroup.controllers exists, v1 otherwise (never fails)', () => {
    expect(checkCgroup(envWith({ files: { cgroupControllers: file('cpu memory pids\n') } }))).toMatchObject({ status: 'ok', detail: expect.stringContaining('cpu memory pids') });
    const v1 = checkCgroup(envWith({ files: { cgroupControllers: absent, cgroupUnifiedControllers: absent } }));
    expect(v1).toMatchObject({ status: 'warn', detail: 'cgroup v1: no rootless resource limits' });
    const hybrid = checkCgroup(envWith({ files: { cgroupControllers: absent, cgroupUnifiedControllers: file('') } }));
    expect(hybrid.detail).toContain('hybrid');
  });
});

describe('network modes check', () => {
  it('names what keeps pasta out, with the fix; builtin and none always work', () => {
    const bin = join(tmp, 'net-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'pasta'), '#!/bin/sh\n');
    chmodSync(join(bin, 'pasta'), 0o755);
    const noPasta = checkNetworkModes(envWith({ env: { PATH: join(tmp, 'empty-bin') } }));
    // /usr/bin is searched too, so "not installed" shows only where passt is absent.
    if (noPasta.detail.includes('not installed')) expect(noPasta).toMatchObject({ status: 'warn', fix: 'sudo apt-get install passt' });
    const noTun = checkNetworkModes(envWith({ env: { PATH: bin }, files: { tun: absent } }));
    expect(noTun).toMatchObject({ status: 'warn', detail: expect.stringContaining('is missing'), fix: 'sudo modprobe tun' });
    expect(noTun.detail).toMatch(/^builtin and none; pasta/);
    const tunFile = file('');
    chmodSync(tunFile, 0o666);
    expect(checkNetworkModes(envWith({ env: { PATH: bin }, files: { tun: tunFile } }))).toMatchObject({ status: 'ok', detail: `builtin, pasta (${join(bin, 'pasta')}) and none` });
  });
});

const pauseVersion = /#define NSBOX_PAUSE_VERSION "([^"]+)"/.exec(readFileSync(resolve('native-shims/pause.c'), 'utf8'))![1]!;

/** An executable file with this content. */
function program(text: string): string {
  const p = file(text);
  chmodSync(p, 0o755);
  return p;
}

describe('native artifact checks', () => {
  it('pass the built artifacts, each saying what ran', async () => {
    const r = await checkArtifacts();
    expect(r.map((c) => c.id)).toEqual(['shim', 'pause', 'forwarder', 'keeper', 'exec-helper', 'flock-addon', 'probe']);
    expect(r.map((c) => [c.id, c.status])).toEqual(r.map((c) => [c.id, 'ok']));
    expect(r[0]!.detail).toBe(`${installedArtifacts.shimLibrary} loads (pidfd_open answered)`);
    expect(r[1]!.detail).toBe(`${installedArtifacts.pause} runs (version ${pauseVersion})`);
    expect(r[2]!.detail).toBe(`${installedArtifacts.forwarder} runs`);
    expect(r[3]!.detail).toBe(`${installedArtifacts.keeper} runs`);
    expect(r[4]!.detail).toBe(`${installedArtifacts.execHelper} runs`);
    expect(r[5]!.detail).toBe(`${installedArtifacts.flockAddon} loads (flock answered EBADF)`);
  });

  it('fail a missing artifact with the rebuild of a checkout (the probe only warns)', async () => {
    expect(await checkShim(absent, loadInstalledShim)).toMatchObject({ status: 'fail', detail: `${absent} is missing`, fix: expect.stringContaining('npm run build') });
    for (const check of [checkPause, checkForwarder, checkKeeper, checkExecHelper]) {
      expect(check(absent)).toMatchObject({ status: 'fail', detail: `${absent} is missing`, fix: expect.stringContaining('npm run build') });
    }
    expect(checkProbe(absent)).toMatchObject({ status: 'warn', detail: `${absent} is missing (only the test suite needs it)` });
    expect(checkFlockAddon(absent)).toMatchObject({ status: 'warn', detail: `${absent} is missing (the state lock then loads ffi-rs, ~4 ms more per call)` });
    // A file that is no addon: it does not load (the real one does, above).
    expect(checkFlockAddon(file('not an ELF file\n'))).toMatchObject({ status: 'warn', detail: expect.stringContaining('does not load') });
  });

  it('fail programs that exist but are not ours, or do not run', () => {
    // Exits 0, as the real pause -v does, but prints something else.
    const impostor = program('#!/bin/sh\necho hello\n');
    expect(checkPause(impostor)).toMatchObject({ status: 'fail', detail: `\`${impostor} -v\` exited with 0 and printed hello, not its version` });
    expect(checkForwarder(impostor)).toMatchObject({ status: 'fail', detail: expect.stringContaining('not its usage') });
    expect(checkKeeper(impostor)).toMatchObject({ status: 'fail', detail: expect.stringContaining('not its usage') });
    expect(checkExecHelper(impostor)).toMatchObject({ status: 'fail', detail: expect.stringContaining('not its usage') });
    expect(checkProbe(impostor)).toMatchObject({ status: 'warn', detail: expect.stringContaining('exited with 0 (not 7)') });
    const notExecutable = file('#!/bin/sh\nexit 0\n');
    expect(checkPause(notExecutable)).toMatchObject({ status: 'fail', detail: `\`${notExecutable} -v\` does not run (EACCES)` });
    // The same checks pass the real programs (above): they tell ours apart.
    expect(checkPause(installedArtifacts.pause).status).toBe('ok');
    expect(checkKeeper(installedArtifacts.keeper).status).toBe('ok');
    expect(checkExecHelper(installedArtifacts.execHelper).status).toBe('ok');
    expect(checkProbe(installedArtifacts.probe).status).toBe('ok');
  });
});

describe('pod and container verdicts', () => {
  const worked: PodProbe = {
    ok: true,
    root: '/tmp/nsbox-check-pod-x',
    pausePid: 4242,
    warnings: [],
    stage: 'cleanup',
    uidMap: '0 1000 1; 1 100000 65536',
    createMs: 5.04,
    execMs: 1.26,
    pid1: '/pause',
    container: { rootfs: 'overlay', copyForced: false, exitCode: 0, stdout: 'nsbox-pause 0.1.0\n', overlayRefusal: null, ms: 40 },
  };

  it('pass a pod and a container that worked, naming the mapping and the root', () => {
    expect(checkPod(worked)).toEqual({
      id: 'pod',
      title: 'pod creation',
      status: 'ok',
      detail: 'a pod started in 5.0 ms with a subordinate range mapped by newuidmap/newgidmap (uid_map 0 1000 1; 1 100000 65536), and an exec joined it by pidfd in 1.3 ms (PID 1: /pause)',
    });
    expect(checkPod({ ...worked, uidMap: '0 0 4294967295' }).detail).toContain('every id mapped 1:1 (root)');
    expect(checkContainer(worked)).toMatchObject({ status: 'ok', detail: expect.stringContaining('on an overlayfs root in its own mount namespace (40.0 ms, exit 0, printed "nsbox-pause 0.1.0")') });
  });

  it('warn on a single-id mapping, with the warning nsbox printed', () => {
    const single = { ...worked, uidMap: '0 1000 1', warnings: ['only uid 1000 is mapped into the pod (no range)'] };
    expect(checkPod(single)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/one id mapped \(uid_map 0 1000 1\).*warned: only uid 1000 is mapped/), fix: expect.stringContaining('subuid') });
  });

  it('fail where the pod probe stopped, and do not claim the container', () => {
    const create: PodProbe = { ok: false, root: worked.root, warnings: [], stage: 'create', error: 'clone of the pod process: EPERM' };
    expect(checkPod(create)).toMatchObject({ status: 'fail', detail: 'creating a pod failed: clone of the pod process: EPERM', fix: expect.stringContaining('nsbox --debug pod create') });
    expect(checkContainer(create)).toMatchObject({ status: 'fail', detail: 'not tried: the pod probe failed' });
    const exec = { ...create, stage: 'exec' as const, error: 'setns: EINVAL' };
    expect(checkPod(exec)).toMatchObject({ status: 'fail', detail: 'a pod was created, but exec into it failed: setns: EINVAL' });
    const wrongInit = { ...worked, pid1: '/sbin/init' };
    expect(checkPod(wrongInit)).toMatchObject({ status: 'fail', detail: expect.stringContaining('"/sbin/init" as PID 1') });
    const container = { ...worked, ok: false, stage: 'container' as const, container: undefined, error: 'the container exited with 127' };
    expect(checkPod(container).status).toBe('ok');
    expect(checkContainer(container)).toMatchObject({ status: 'fail', detail: 'running a container from a one-file image failed: the container exited with 127' });
    const notTried = { why: 'the native shim must work first', fix: 'see the native shim check' };
    expect(checkPod(notTried)).toMatchObject({ status: 'fail', detail: 'not tried: the native shim must work first', fix: 'see the native shim check' });
  });

  it('say why a container ran on a copy', () => {
    const refused = { ...worked, container: { ...worked.container!, rootfs: 'copy' as const, overlayRefusal: 'EPERM' } };
    expect(checkContainer(refused).detail).toContain('on a copy of its image (overlayfs refused: EPERM)');
    const forced = { ...worked, container: { ...worked.container!, rootfs: 'copy' as const, copyForced: true } };
    expect(checkContainer(forced).detail).toContain('on a copy of its image (NSBOX_ROOTFS=copy)');
  });
});

/** This user's first /etc/subuid range, as nsbox's mapping takes it (null: none, or no newuidmap). */
function expectedUidMap(): string {
  if (uid === 0) return '0 0 4294967295';
  const name = defaultCheckEnv().user;
  const line = existsSync('/etc/subuid') ? readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`) || l.startsWith(`${uid}:`)) : undefined;
  const helper = ['/usr/bin/newuidmap', '/usr/sbin/newuidmap', '/bin/newuidmap'].some((p) => existsSync(p));
  if (!line || !helper) return `0 ${uid} 1`;
  const [, start, count] = line.split(':');
  return `0 ${uid} 1; 1 ${start} ${count}`;
}

describe('the live pod probe', () => {
  it('creates a real pod with the mapping pods get, execs into it, runs a container on overlayfs, and leaves nothing behind', async () => {
    const p = await probePod({ program: installedArtifacts.pause, createPod });
    expect(p.error).toBeUndefined();
    expect(p.ok).toBe(true);
    expect(p.uidMap).toBe(expectedUidMap());
    expect(p.pid1).toBe('/pause');
    // This machine's kernel (6.x) gives a rootless overlayfs.
    expect(p.container).toMatchObject({ rootfs: 'overlay', copyForced: false, exitCode: 0, stdout: `nsbox-pause ${pauseVersion}\n` });
    expect(existsSync(p.root)).toBe(false);
    let pauseLeft = '';
    try {
      pauseLeft = readFileSync(`/proc/${p.pausePid}/cmdline`, 'utf8');
    } catch {
      // gone, as it should be
    }
    expect(pauseLeft).not.toBe('/pause\0');
    expect(checkPod(p).status).toBe(uid !== 0 && !p.uidMap!.includes(';') ? 'warn' : 'ok');
    expect(checkContainer(p).status).toBe('ok');
  });

  it('runs the container on a copy when NSBOX_ROOTFS=copy asks for it, and then leaves the overlay verdict to the kernel', async () => {
    const saved = process.env.NSBOX_ROOTFS;
    process.env.NSBOX_ROOTFS = 'copy';
    let r: CheckReport;
    try {
      r = await runChecks();
    } finally {
      if (saved === undefined) delete process.env.NSBOX_ROOTFS;
      else process.env.NSBOX_ROOTFS = saved;
    }
    expect(byId(r, 'container')).toMatchObject({ status: 'ok', detail: expect.stringContaining('on a copy of its image (NSBOX_ROOTFS=copy)') });
    expect(byId(r, 'overlay').detail).not.toContain("a container's");
    // Without it, the same check runs on overlayfs (the positive control).
    const plain = await runChecks();
    expect(byId(plain, 'container').detail).toContain('on an overlayfs root');
    expect(byId(plain, 'overlay').detail).toContain("a container's root was mounted as overlayfs");
  });
});

describe('report formatting', () => {
  const checks: CheckResult[] = [
    { id: 'userns', title: 'user namespaces', status: 'ok', detail: 'unprivileged user namespaces work', fix: 'unused' },
    { id: 'subid', title: 'subuid range', status: 'fail', detail: 'user bob has no range in /etc/subuid', fix: 'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bob' },
    { id: 'cgroup', title: 'cgroup v2', status: 'warn', detail: 'cgroup v1: no rootless resource limits' },
  ];

  it('prints one line per check and a summary', () => {
    const lines = formatCheckReport({ ok: false, checks }).split('\n');
    expect(lines).toEqual([
      '✔ user namespaces: unprivileged user namespaces work',
      '✘ subuid range: user bob has no range in /etc/subuid — fix: sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bob',
      '⚠ cgroup v2: cgroup v1: no rootless resource limits',
      '1 ok, 1 warning, 1 failure: rootless pods cannot run here until the failures are fixed',
    ]);
  });

  it('says pods can run when nothing failed', () => {
    const text = formatCheckReport({ ok: true, checks: [checks[0]!] });
    expect(text.split('\n').at(-1)).toBe('1 ok, 0 warnings, 0 failures: rootless pods can run here');
  });
});

/** Runs runChecks() in a fresh node inside `wrapper` (real namespaces), returning the report. */
function reportInside(wrapper: string[], setup = ''): CheckReport {
  const mod = resolve('dist/api/check.js');
  const js = `const { runChecks } = await import(${JSON.stringify(mod)}); console.log(JSON.stringify(await runChecks()));`;
  const script = `${setup}exec "$0" --input-type=module -e '${js}'`;
  const r = spawnSync(wrapper[0]!, [...wrapper.slice(1), 'sh', '-c', script, process.execPath], { encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as CheckReport;
}
const byId = (r: CheckReport, id: string) => r.checks.find((c) => c.id === id)!;

describe('runChecks on this machine', () => {
  it('runs every check once and sets ok iff none failed', async () => {
    const r = await runChecks();
    expect(r.checks.map((c) => c.id)).toEqual(ALL_IDS);
    expect(r.ok).toBe(!r.checks.some((c) => c.status === 'fail'));
    for (const c of r.checks) {
      expect(['ok', 'warn', 'fail']).toContain(c.status);
      expect(c.detail).not.toContain('\n');
      if (c.status !== 'ok') expect(c.fix, c.id).toBeTruthy();
    }
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(formatCheckReport(r).split('\n')).toHaveLength(ALL_IDS.length + 1);
  });

  it('agrees with the kernel about user namespaces', async () => {
    // This machine supports them; confirm with util-linux directly.
    const direct = spawnSync('unshare', ['--user', '--map-root-user', 'true']);
    expect(direct.status).toBe(0);
    const r = await runChecks();
    expect(byId(r, 'userns').status).toBe('ok');
    expect(byId(r, 'apparmor').status).not.toBe('fail');
  });

  it('agrees with the files it reads', async () => {
    const r = await runChecks();
    const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    const points = mountinfo.split('\n').map((l) => l.split(' ')[4] ?? '');
    const masked = points.some((p) => p.startsWith('/proc/') && p !== '/proc/sys/fs/binfmt_misc');
    expect(byId(r, 'proc-mask').status).toBe(masked ? 'fail' : 'ok');
    expect(byId(r, 'cgroup').status).toBe(existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'ok' : 'warn');
    const [maj = 0, min = 0] = release().split('.').map((x) => parseInt(x, 10));
    if (maj > 5 || (maj === 5 && min >= 11)) expect(byId(r, 'overlay').detail).not.toContain('older than');
    const xdg = process.env.XDG_RUNTIME_DIR;
    const xdgGood = !!xdg && existsSync(xdg) && statSync(xdg).uid === uid && (statSync(xdg).mode & 0o777) === 0o700;
    expect(byId(r, 'runtime-dir').status).toBe(xdgGood ? 'ok' : 'warn');
  });

  it('agrees with /etc/subuid and the uidmap binaries for this user', async () => {
    const r = await runChecks();
    const subid = byId(r, 'subid');
    const helpers = byId(r, 'idmap-helpers');
    if (uid === 0) {
      expect(subid.detail).toBe('running as root: ids are mapped 1:1');
      expect(helpers.status).toBe('ok');
      return;
    }
    const name = defaultCheckEnv().user;
    const has = (f: string) => existsSync(f) && new RegExp(`^(${name}|${uid}):\\d+:\\d+`, 'm').test(readFileSync(f, 'utf8'));
    expect(subid.status === 'ok').toBe(has('/etc/subuid') && has('/etc/subgid') && !subid.detail.includes('only'));
    const setuid = (p: string) => existsSync(p) && (statSync(p).mode & 0o4000) !== 0 && statSync(p).uid === 0;
    if (setuid('/usr/bin/newuidmap') && setuid('/usr/bin/newgidmap')) expect(helpers.status).toBe('ok');
  });

  it('warns, not crashes, when util-linux unshare is missing', async () => {
    const r = await runChecks({ env: { unshare: 'nsbox-no-such-unshare' } });
    expect(byId(r, 'userns')).toMatchObject({ status: 'warn', fix: 'sudo apt-get install util-linux' });
    expect(byId(r, 'proc-mask').detail).toContain('live mount not tried');
  });

  it('fails masked /proc inside a namespace where /proc has a mount over it', () => {
    // Like a CI container: a bind mount over /proc/irq hides part of procfs.
    const r = reportInside(['unshare', '--user', '--map-root-user', '--mount'], 'mount --bind /proc/irq /proc/irq && ');
    expect(byId(r, 'userns').status).toBe('ok');
    expect(byId(r, 'proc-mask')).toMatchObject({ status: 'fail', detail: expect.stringContaining('/proc/irq') });
    // uid 0 there is one mapped id: a pod's 1:1 mapping of every id is refused.
    expect(byId(r, 'pod')).toMatchObject({ status: 'fail', detail: expect.stringContaining('creating a pod failed: writing uid_map: EPERM') });
    expect(r.ok).toBe(false);
    // And the kernel agrees: a fresh procfs cannot be mounted there.
    const live = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', 'mount --bind /proc/irq /proc/irq && exec unshare -Urmpf --mount-proc true'], { encoding: 'utf8' });
    expect(live.status).not.toBe(0);
    expect(live.stderr).toContain('Operation not permitted');
  });

  it('fails user namespaces for an unmapped user, where the kernel refuses them', () => {
    // Inside `unshare --user` without a map we are uid 65534, unmapped in the parent: EPERM.
    const r = reportInside(['unshare', '--user']);
    expect(byId(r, 'userns')).toMatchObject({ status: 'fail', detail: expect.stringContaining('Operation not permitted') });
    expect(byId(r, 'apparmor').status).toBe('ok');
    expect(byId(r, 'proc-mask').detail).toContain('live mount not tried');
    expect(byId(r, 'subid').status).toBe('warn');
    // The real path agrees: the shim's clone of a pod is refused too.
    expect(byId(r, 'pod')).toMatchObject({ status: 'fail', detail: expect.stringContaining('creating a pod failed: clone of the pod process: EPERM') });
    expect(byId(r, 'container').detail).toBe('not tried: the pod probe failed');
    expect(r.ok).toBe(false);
  });
});
