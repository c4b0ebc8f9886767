// The individual `nsbox check` probes. Each reads the machine through a
// CheckEnv (file paths, env vars, uid) so tests can point it at files they
// wrote; the defaults read the real machine. These live probes spawn
// util-linux `unshare` (never unshare inside Node: it is multithreaded, and
// the kernel refuses a user namespace to a multithreaded process); the
// real pod path is probed through the library (live-pod.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { release, userInfo } from 'node:os';
import { parseSubidFile, type IdRange } from '../idmap/subid.js';
import { pastaSupport } from '../net/pasta-support.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface CheckFiles {
  unprivUsernsClone: string;
  maxUserNamespaces: string;
  apparmorRestrict: string;
  subuid: string;
  subgid: string;
  mountinfo: string;
  filesystems: string;
  cgroupControllers: string;
  /** cgroup v2 mounted beside v1 (hybrid layout). */
  cgroupUnifiedControllers: string;
  /** The tun device pasta opens. */
  tun: string;
}

export interface CheckEnv {
  /** Effective uid: what the kernel checks. */
  uid: number;
  /** Login name, for /etc/subuid lookups (entries may use the name or the uid). */
  user: string;
  env: NodeJS.ProcessEnv;
  /** os.release(), e.g. "6.8.0-31-generic". */
  kernelRelease: string;
  files: CheckFiles;
  /** Where newuidmap/newgidmap/getcap are looked for. */
  searchDirs: string[];
  /** The util-linux unshare the live probes run. */
  unshare: string;
}

export function defaultCheckEnv(env: NodeJS.ProcessEnv = process.env): CheckEnv {
  const uid = process.geteuid?.() ?? 0;
  return {
    uid,
    user: currentUserName(uid, env),
    env,
    kernelRelease: release(),
    files: {
      unprivUsernsClone: '/proc/sys/kernel/unprivileged_userns_clone',
      maxUserNamespaces: '/proc/sys/user/max_user_namespaces',
      apparmorRestrict: '/proc/sys/kernel/apparmor_restrict_unprivileged_userns',
      subuid: '/etc/subuid',
      subgid: '/etc/subgid',
      mountinfo: '/proc/self/mountinfo',
      filesystems: '/proc/filesystems',
      cgroupControllers: '/sys/fs/cgroup/cgroup.controllers',
      cgroupUnifiedControllers: '/sys/fs/cgroup/unified/cgroup.controllers',
      tun: '/dev/net/tun',
    },
    searchDirs: searchDirs(env.PATH),
    unshare: 'unshare',
  };
}

// getpwuid, not $USER: `su` without -l keeps the caller's $USER.
function currentUserName(uid: number, env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? String(uid);
  }
}

export function searchDirs(path = ''): string[] {
  const dirs = [...path.split(':').filter(Boolean), '/usr/bin', '/usr/sbin', '/bin', '/sbin'];
  return [...new Set(dirs)];
}

// ---------------------------------------------------------------- helpers

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** An integer sysctl, or null when the file is absent (the knob does not exist on this kernel). */
export function readIntFile(file: string): number | null {
  const text = readText(file);
  if (text === null) return null;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isNaN(n) ? null : n;
}

/** stderr reduced to one short line, so every check prints one line. */
export function oneLine(text: string, max = 160): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')
    .replace(/\s+/g, ' ');
  return line.length > max ? line.slice(0, max - 1) + '…' : line;
}

export function findIn(dirs: string[], name: string): string | null {
  for (const dir of dirs) {
    const p = `${dir}/${name}`;
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

// ------------------------------------------------------------ live probes

export interface SpawnProbe {
  /** False when the command could not run at all (missing, timed out). */
  ran: boolean;
  ok: boolean;
  status: number | null;
  stderr: string;
  /** Why it did not run: ENOENT, ETIMEDOUT, ... */
  error?: string;
}

function runProbe(env: CheckEnv, args: string[]): SpawnProbe {
  // LC_ALL=C: the failure classification below reads English messages.
  const r = spawnSync(env.unshare, args, {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env.env, LC_ALL: 'C' },
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code ?? r.error.message;
    return { ran: false, ok: false, status: null, stderr: '', error: code };
  }
  return { ran: true, ok: r.status === 0, status: r.status, stderr: r.stderr ?? '' };
}

/** Creates a user namespace mapping us to root: the least nsbox needs. */
export function probeUserns(env: CheckEnv): SpawnProbe {
  return runProbe(env, ['--user', '--map-root-user', 'true']);
}

/** Mounts a fresh procfs in new user+mount+pid namespaces, as every pod does. */
export function probeProcMount(env: CheckEnv): SpawnProbe {
  return runProbe(env, ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--mount-proc', 'true']);
}

export type UsernsFailure = 'map-denied' | 'limit' | 'denied' | 'invalid' | 'other';

/** Why `unshare --user --map-root-user` failed, from util-linux's message. */
export function classifyUsernsFailure(stderr: string): UsernsFailure {
  const s = stderr.toLowerCase();
  const eperm = /operation not permitted|permission denied/.test(s);
  // The clone worked but the map write was refused: AppArmor's restriction (or another LSM).
  if (eperm && /uid_map|gid_map|setgroups/.test(s)) return 'map-denied';
  if (/no space left on device/.test(s)) return 'limit';
  if (eperm) return 'denied';
  if (/invalid argument/.test(s)) return 'invalid';
  return 'other';
}

// ---------------------------------------------------------------- checks

const MAX_USERNS_FIX =
  'sudo sysctl -w user.max_user_namespaces=15000 (persist: echo user.max_user_namespaces=15000 | sudo tee /etc/sysctl.d/90-nsbox.conf)';
const USERNS_CLONE_FIX =
  'sudo sysctl -w kernel.unprivileged_userns_clone=1 (persist: echo kernel.unprivileged_userns_clone=1 | sudo tee /etc/sysctl.d/90-nsbox.conf)';
const APPARMOR_FIX =
  'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (persist: echo kernel.apparmor_restrict_unprivileged_userns=0 | sudo tee /etc/sysctl.d/60-nsbox.conf), or give node an AppArmor profile that allows `userns,`';

export function checkUserNamespaces(env: CheckEnv, probe: SpawnProbe): CheckResult {
  const base = { id: 'userns', title: 'user namespaces' };
  const clone = readIntFile(env.files.unprivUsernsClone);
  const max = readIntFile(env.files.maxUserNamespaces);
  const root = env.uid === 0;

  if (probe.ok) {
    if (!root) return { ...base, status: 'ok', detail: 'unprivileged user namespaces work' };
    const note = clone === 0 ? ', but kernel.unprivileged_userns_clone=0 blocks other users' : '';
    return { ...base, status: 'ok', detail: `user namespaces work (as root${note})` };
  }
  // The sysctls explain a failure (or predict one when unshare could not run).
  if (max === 0) return { ...base, status: 'fail', detail: 'user.max_user_namespaces is 0: no user namespaces can be created', fix: MAX_USERNS_FIX };
  if (clone === 0 && !root)
    return { ...base, status: 'fail', detail: 'kernel.unprivileged_userns_clone is 0: only root may create user namespaces', fix: USERNS_CLONE_FIX };
  if (!probe.ran) {
    const why = probe.error === 'ENOENT' ? `${env.unshare} (util-linux) not found` : `${env.unshare} did not run (${probe.error})`;
    return { ...base, status: 'warn', detail: `could not try a user namespace: ${why}; the sysctls allow them`, fix: 'sudo apt-get install util-linux' };
  }
  const seen = oneLine(probe.stderr) || `exit ${probe.status}`;
  switch (classifyUsernsFailure(probe.stderr)) {
    case 'map-denied':
      return { ...base, status: 'fail', detail: `a user namespace is created but writing its id map is denied (${seen})`, fix: 'see the AppArmor check' };
    case 'limit':
      return { ...base, status: 'fail', detail: `the user namespace limit is reached (${seen})`, fix: MAX_USERNS_FIX };
    case 'denied':
      return {
        ...base,
        status: 'fail',
        detail: `creating a user namespace is denied (${seen})`,
        fix: 'inside a container, allow it (docker/podman run --security-opt seccomp=unconfined); on a host, check kernel.unprivileged_userns_clone and user.max_user_namespaces',
      };
    case 'invalid':
      return { ...base, status: 'fail', detail: `the kernel rejects user namespaces (${seen})`, fix: 'use a kernel built with CONFIG_USER_NS=y' };
    default:
      return { ...base, status: 'fail', detail: `\`unshare --user --map-root-user true\` failed (${seen})`, fix: 'run that command by hand to see why' };
  }
}

export function checkAppArmor(env: CheckEnv, probe: SpawnProbe): CheckResult {
  const base = { id: 'apparmor', title: 'AppArmor userns restriction' };
  const restrict = readIntFile(env.files.apparmorRestrict);
  const mapDenied = probe.ran && !probe.ok && classifyUsernsFailure(probe.stderr) === 'map-denied';
  const seen = mapDenied ? ` (seen: ${oneLine(probe.stderr)})` : '';

  if (restrict === 1) {
    // The restriction spares processes with CAP_SYS_ADMIN, so root is not hit.
    if (env.uid === 0 && !mapDenied)
      return { ...base, status: 'warn', detail: 'kernel.apparmor_restrict_unprivileged_userns=1: root is exempt, but unprivileged users get EPERM writing uid_map', fix: APPARMOR_FIX };
    return { ...base, status: 'fail', detail: `kernel.apparmor_restrict_unprivileged_userns=1: new user namespaces get no privileges, so writing uid_map or mounting fails with EPERM${seen}`, fix: APPARMOR_FIX };
  }
  if (mapDenied)
    return {
      ...base,
      status: 'fail',
      detail: `creating a user namespace works but writing its id map fails${seen}: an LSM or the enclosing container blocks it`,
      fix: 'look for AppArmor/SELinux denials (sudo dmesg | grep -i -e apparmor -e avc); on Ubuntu: ' + APPARMOR_FIX,
    };
  if (restrict === 0) return { ...base, status: 'ok', detail: 'kernel.apparmor_restrict_unprivileged_userns=0' };
  return { ...base, status: 'ok', detail: 'no AppArmor user-namespace restriction on this kernel' };
}

interface SubidEntry {
  owner: string;
  start: number;
  count: number;
}

function subidEntries(text: string): SubidEntry[] {
  const out: SubidEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner = '', start, count] = line.split(':');
    const e = { owner, start: Number(start), count: Number(count) };
    if (Number.isInteger(e.start) && Number.isInteger(e.count)) out.push(e);
  }
  return out;
}

/** A 65536-id range above every existing entry in both files, so the fix does not overlap another user's. */
export function freeSubidStart(...texts: string[]): number {
  let start = 100000;
  for (const e of texts.flatMap(subidEntries)) start = Math.max(start, e.start + e.count);
  return start;
}

const FULL_RANGE = 65536;

/** usermod arguments that give one file a full range: add one, or replace a short one (nsbox uses the first match). */
function usermodRangeArgs(flag: 'subuids' | 'subgids', have: IdRange | null, span: string): string {
  if (!have) return `--add-${flag} ${span}`;
  if (have.count >= FULL_RANGE) return '';
  return `--del-${flag} ${have.start}-${have.start + have.count - 1} --add-${flag} ${span}`;
}

export function checkSubids(env: CheckEnv): CheckResult {
  const base = { id: 'subid', title: 'subuid/subgid range' };
  if (env.uid === 0) return { ...base, status: 'ok', detail: 'running as root: ids are mapped 1:1' };

  const uidText = readText(env.files.subuid);
  const gidText = readText(env.files.subgid);
  const u = uidText === null ? null : parseSubidFile(uidText, env.user, env.uid);
  const g = gidText === null ? null : parseSubidFile(gidText, env.user, env.uid);
  const start = freeSubidStart(uidText ?? '', gidText ?? '');
  const span = `${start}-${start + FULL_RANGE - 1}`;
  const fix = ['sudo usermod', usermodRangeArgs('subuids', u, span), usermodRangeArgs('subgids', g, span), env.user].filter(Boolean).join(' ');

  const missing: string[] = [];
  if (!u) missing.push(uidText === null ? `${env.files.subuid} is missing` : `no range in ${env.files.subuid}`);
  if (!g) missing.push(gidText === null ? `${env.files.subgid} is missing` : `no range in ${env.files.subgid}`);
  if (!u || !g) {
    const impact = 'nsbox falls back to mapping one id, and images that switch users (nginx) fail';
    return { ...base, status: 'warn', detail: `user ${env.user} (uid ${env.uid}): ${missing.join(', ')}; ${impact}`, fix };
  }
  // Images use ids up to 65534 (nobody); a shorter range makes their chown fail.
  if (u.count < FULL_RANGE || g.count < FULL_RANGE) {
    const detail = `user ${env.user} has only ${Math.min(u.count, g.count)} subordinate ids; images that use ids up to 65534 need ${FULL_RANGE}`;
    return { ...base, status: 'warn', detail, fix };
  }
  return { ...base, status: 'ok', detail: `user ${env.user}: uids ${u.start}+${u.count}, gids ${g.start}+${g.count}` };
}

type HelperState = { name: string; path: string | null; how: 'setuid' | 'caps' | 'nocaps' | 'unknown' | 'missing' };

// newuidmap only works if it may write maps for ids we do not own: setuid root or file caps.
function inspectHelper(env: CheckEnv, name: string): HelperState {
  const path = findIn(env.searchDirs, name);
  if (!path) return { name, path, how: 'missing' };
  const st = statSync(path);
  if (st.uid === 0 && (st.mode & 0o4000) !== 0) return { name, path, how: 'setuid' };
  const getcap = findIn(env.searchDirs, 'getcap');
  if (!getcap) return { name, path, how: 'unknown' };
  const r = spawnSync(getcap, [path], { encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) return { name, path, how: 'unknown' };
  return { name, path, how: /cap_set[ug]id/.test(r.stdout) ? 'caps' : 'nocaps' };
}

export function checkIdmapHelpers(env: CheckEnv): CheckResult {
  const base = { id: 'idmap-helpers', title: 'newuidmap/newgidmap' };
  if (env.uid === 0) return { ...base, status: 'ok', detail: 'not needed as root: ids are mapped 1:1' };

  const helpers = ['newuidmap', 'newgidmap'].map((n) => inspectHelper(env, n));
  const missing = helpers.filter((h) => h.how === 'missing');
  if (missing.length)
    return {
      ...base,
      status: 'warn',
      detail: `${missing.map((h) => h.name).join(' and ')} not found in PATH, /usr/bin or /usr/sbin: nsbox can map only one id`,
      fix: 'sudo apt-get install uidmap',
    };
  const nocaps = helpers.find((h) => h.how === 'nocaps');
  if (nocaps)
    return {
      ...base,
      status: 'warn',
      detail: `${nocaps.path} is neither setuid root nor has file capabilities, so it cannot map subordinate ids`,
      fix: `sudo chmod u+s ${nocaps.path} (or: sudo setcap cap_setuid,cap_setgid+ep ${nocaps.path}), or reinstall: sudo apt-get install --reinstall uidmap`,
    };
  const unknown = helpers.find((h) => h.how === 'unknown');
  if (unknown)
    return {
      ...base,
      status: 'warn',
      detail: `${unknown.path} is not setuid root and getcap is unavailable, so its file capabilities are unknown`,
      fix: `sudo apt-get install libcap2-bin && getcap ${unknown.path}`,
    };
  return { ...base, status: 'ok', detail: helpers.map((h) => `${h.path} (${h.how === 'setuid' ? 'setuid root' : 'file caps'})`).join(', ') };
}

export function checkRuntimeDir(env: CheckEnv): CheckResult {
  const base = { id: 'runtime-dir', title: 'XDG_RUNTIME_DIR' };
  const dir = env.env.XDG_RUNTIME_DIR;
  const fix = `under su/sudo use \`su -l ${env.user}\` or \`machinectl shell ${env.user}@\`, or export XDG_RUNTIME_DIR=/run/user/$(id -u)`;
  if (!dir) return { ...base, status: 'warn', detail: `not set: state goes to /tmp/nsbox-${env.uid}`, fix };
  let st;
  try {
    st = statSync(dir);
  } catch {
    return { ...base, status: 'warn', detail: `${dir} does not exist`, fix };
  }
  if (!st.isDirectory()) return { ...base, status: 'warn', detail: `${dir} is not a directory`, fix };
  // `su` without -l keeps the caller's XDG_RUNTIME_DIR: a directory that is not ours.
  if (st.uid !== env.uid) return { ...base, status: 'warn', detail: `${dir} belongs to uid ${st.uid}, not ${env.uid} (left over from su/sudo?)`, fix };
  const mode = st.mode & 0o777;
  if (mode !== 0o700) return { ...base, status: 'warn', detail: `${dir} has mode ${mode.toString(8)}, not 700`, fix: `chmod 700 ${dir}` };
  return { ...base, status: 'ok', detail: `${dir} (owned by uid ${env.uid}, mode 700)` };
}

/** Mount points from mountinfo text, with the kernel's octal escapes (\040 for space) undone. */
export function parseMountPoints(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 5 || !fields[4]) continue;
    out.push(fields[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

// binfmt_misc sits on an empty directory, so the kernel does not count it as hiding anything.
const HARMLESS_PROC_MOUNTS = new Set(['/proc/sys/fs/binfmt_misc']);

export function maskedProcPaths(mountinfo: string): string[] {
  return parseMountPoints(mountinfo).filter((p) => p.startsWith('/proc/') && !HARMLESS_PROC_MOUNTS.has(p));
}

const UNMASK_FIX =
  'run the outer container with an unmasked /proc: podman run --security-opt unmask=ALL, docker run --security-opt systempaths=unconfined';

/**
 * The kernel lets a user namespace mount procfs only if no existing proc
 * mount has something mounted over it (mount_too_revealing). `procProbe`
 * is the live proof; pass null when user namespaces already failed.
 */
export function checkProcMask(env: CheckEnv, procProbe: (() => SpawnProbe) | null): CheckResult {
  const base = { id: 'proc-mask', title: 'masked /proc' };
  const text = readText(env.files.mountinfo);
  if (text === null) return { ...base, status: 'warn', detail: `cannot read ${env.files.mountinfo}`, fix: 'mount procfs on /proc' };
  const masked = maskedProcPaths(text);
  if (masked.length) {
    const shown = masked.slice(0, 5).join(', ') + (masked.length > 5 ? `, … (${masked.length} in all)` : '');
    return { ...base, status: 'fail', detail: `/proc has mounts over it (${shown}), so mounting a fresh procfs in a user namespace fails with EPERM`, fix: UNMASK_FIX };
  }
  if (!procProbe) return { ...base, status: 'ok', detail: 'nothing is mounted over /proc (live mount not tried: no user namespaces)' };
  const p = procProbe();
  if (p.ok) return { ...base, status: 'ok', detail: 'nothing is mounted over /proc, and a fresh procfs mounts in a user namespace' };
  if (!p.ran) return { ...base, status: 'ok', detail: `nothing is mounted over /proc (live mount not tried: ${p.error})` };
  return { ...base, status: 'fail', detail: `mounting a fresh procfs in a user namespace fails (${oneLine(p.stderr) || `exit ${p.status}`})`, fix: UNMASK_FIX };
}

export function parseKernelVersion(rel: string): { major: number; minor: number } | null {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** What a live container did with its root (from the pod probe): overlay, or the copy fallback and why. */
export interface LiveOverlay {
  rootfs: 'overlay' | 'copy';
  overlayRefusal: string | null;
}

/**
 * The kernel's support (version, /proc/filesystems) predicts it; a live
 * container's root, when one ran, decides it.
 */
export function checkOverlay(env: CheckEnv, live: LiveOverlay | null = null): CheckResult {
  const base = { id: 'overlay', title: 'overlayfs in user namespaces' };
  const v = parseKernelVersion(env.kernelRelease);
  const slower = 'nsbox copies image layers instead (slower, more disk)';
  if (live?.rootfs === 'overlay') return { ...base, status: 'ok', detail: `a container's root was mounted as overlayfs in its user namespace (kernel ${env.kernelRelease})` };
  const seen = live ? `a container's overlayfs mount was refused (${live.overlayRefusal ?? 'unknown error'}): ${slower}` : null;
  // Unprivileged overlay mounts arrived in Linux 5.11.
  if (!v || v.major < 5 || (v.major === 5 && v.minor < 11))
    return { ...base, status: 'warn', detail: seen ?? `kernel ${env.kernelRelease} is older than 5.11: ${slower}`, fix: 'upgrade to a kernel >= 5.11 (Debian 12 ships 6.1: sudo apt-get install linux-image-$(dpkg --print-architecture))' };
  const fs = readText(env.files.filesystems) ?? '';
  const listed = fs.split('\n').some((l) => l.trim().split(/\s+/).pop() === 'overlay');
  if (!listed)
    return { ...base, status: 'warn', detail: seen ?? `overlay is not in ${env.files.filesystems} (it may be an unloaded module): otherwise ${slower}`, fix: 'sudo modprobe overlay (persist: echo overlay | sudo tee /etc/modules-load.d/overlay.conf)' };
  if (seen)
    return { ...base, status: 'warn', detail: seen, fix: 'keep nsbox\'s state and images off overlayfs (as inside a container) and on a filesystem with user xattrs (ext4, xfs, btrfs; tmpfs from Linux 6.6): set NSBOX_ROOT=DIR' };
  return { ...base, status: 'ok', detail: `kernel ${env.kernelRelease} supports overlayfs in user namespaces` };
}

export function checkCgroup(env: CheckEnv): CheckResult {
  const base = { id: 'cgroup', title: 'cgroup v2' };
  const controllers = readText(env.files.cgroupControllers);
  if (controllers !== null) return { ...base, status: 'ok', detail: `unified hierarchy; controllers: ${controllers.trim() || 'none'}` };
  const hybrid = existsSync(env.files.cgroupUnifiedControllers) ? ' (hybrid: v2 only at /sys/fs/cgroup/unified)' : '';
  return {
    ...base,
    status: 'warn',
    detail: `cgroup v1${hybrid}: no rootless resource limits`,
    fix: 'boot with systemd.unified_cgroup_hierarchy=1 on the kernel command line (Debian 11+ defaults to v2)',
  };
}

export function checkNetworkModes(env: CheckEnv): CheckResult {
  const base = { id: 'network', title: 'network modes' };
  const pasta = pastaSupport(env.env.PATH ?? '', env.files.tun);
  if (pasta.ok) return { ...base, status: 'ok', detail: `builtin, pasta (${pasta.pasta}) and none` };
  return { ...base, status: 'warn', detail: `builtin and none; pasta (outbound access) is not usable: ${pasta.problem}`, fix: pasta.fix };
}
