// Seccomp (issue 17): containers run under the default profile (the policy
// of containers-common's, shipped as seccomp/default.json), or under a
// profile the user names, or with none (seccomp=unconfined). A probe built
// here makes the system calls the profile refuses; each refusal has its
// positive control: the same profile with other errno numbers (the answer
// then comes from the filter, not the kernel), and unconfined, where the
// kernel answers.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, type Pod } from '../dist/index.js';
import { artifacts } from '../dist/native/artifacts.js';
import { DEFAULT_CAPABILITIES } from '../dist/container/capabilities.js';
import { parseProfile } from '../dist/core/seccomp-profile.js';
import { cleanupRoot, repoRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { leftoverProcessesNow } from './helpers/leftovers.js';
import { nsbox, podDirs, removeAllPods } from './helpers/nsbox.js';
// @ts-expect-error: plain ESM script without type declarations
import { defaultProfileText } from '../scripts/seccomp-profile.mjs';

const EPERM = 1;
/** An errno the kernel never gives for these calls: the renumbered profile's. */
const EOPNOTSUPP = 95;

let root: string;
let lib: Pod;

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: unknown[];
  includes?: { caps?: string[]; arches?: string[] };
  excludes?: { caps?: string[] };
}
const profile = JSON.parse(readFileSync(artifacts.seccompDefault, 'utf8')) as { defaultErrnoRet: number; syscalls: Rule[] };

/** What the default profile says about `name` for a container with `caps` (argument-free rules): its errno, or 0 when allowed. */
function profileErrno(name: string, caps: string[] = DEFAULT_CAPABILITIES.map((c: string) => `CAP_${c}`)): number {
  let answer = profile.defaultErrnoRet;
  for (const r of profile.syscalls) {
    if (!r.names.includes(name) || r.args?.length || r.includes?.arches) continue;
    if (r.includes?.caps && !r.includes.caps.every((c) => caps.includes(c))) continue;
    if (r.excludes?.caps && r.excludes.caps.some((c) => caps.includes(c))) continue;
    answer = r.action === 'SCMP_ACT_ALLOW' ? 0 : (r.errnoRet ?? EPERM);
  }
  return answer;
}

/** Runs the probe in a fresh container of pod `sc`; { syscall: errno }. */
function probe(calls: string[], ...runArgs: string[]): Record<string, number> {
  const r = nsbox(root, ['run', '--rm', '--pod', 'sc', ...runArgs, 'probe', 'seccomp-probe', ...calls]);
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
}

const sh = (script: string, ...runArgs: string[]) => nsbox(root, ['run', '--rm', '--pod', 'sc', ...runArgs, 'probe', 'sh', '-c', script]);

const seccompLine = (status: string) => /^Seccomp:\s*(\d+)$/m.exec(status)?.[1];

/** A profile file in the test's root. */
function profileFile(name: string, value: unknown): string {
  const file = join(root, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

const DENIED = ['kexec_load', 'init_module', 'open_by_handle_at', 'perf_event_open', 'userfaultfd', 'add_key'];

beforeAll(async () => {
  root = tempRoot();
  const probeBin = join(root, 'seccomp-probe');
  execFileSync('gcc', ['-static', '-O1', '-o', probeBin, join(repoRoot, 'test', 'fixtures', 'seccomp-probe.c')]);
  importImage(root, 'probe', [{ path: 'bin/seccomp-probe', content: readFileSync(probeBin), mode: 0o755 }]);
  expect(nsbox(root, ['pod', 'create', '--name', 'sc']).code).toBe(0);
  lib = await createPod({ root, name: 'sc-lib' });
});
afterAll(async () => {
  await lib?.remove({ force: true });
  if (root) removeAllPods(root);
  cleanupRoot(root);
});

describe(`seccomp (${testMode})`, () => {
  it('the default profile in the repository is what scripts/seccomp-profile.mjs writes, and reads as valid', () => {
    expect(readFileSync(artifacts.seccompDefault, 'utf8')).toBe(defaultProfileText);
    const p = parseProfile(defaultProfileText);
    expect([p.defaultAction, p.defaultErrnoRet]).toEqual(['SCMP_ACT_ERRNO', 38]);
    // what nesting needs stays allowed to a container with the default capabilities
    for (const name of ['unshare', 'setns', 'mount', 'umount2', 'pivot_root', 'clone', 'clone3', 'keyctl', 'execve']) expect([name, profileErrno(name)]).toEqual([name, 0]);
  });

  it('refuses what the default profile refuses, with its errno; the filter answers (renumbered), and unconfined lets the kernel answer', () => {
    const expected = Object.fromEntries(DENIED.map((n) => [n, profileErrno(n)]));
    expect(Object.values(expected).every((e) => e !== 0)).toBe(true);
    expect(probe(DENIED)).toEqual(expected);
    // The same policy with other numbers: the answers are the filter's.
    const renumbered = JSON.parse(defaultProfileText) as { defaultErrnoRet: number; syscalls: Rule[] };
    renumbered.defaultErrnoRet = EOPNOTSUPP;
    for (const r of renumbered.syscalls) if (r.action === 'SCMP_ACT_ERRNO') r.errnoRet = EOPNOTSUPP;
    const file = profileFile('renumbered.json', renumbered);
    expect(probe(DENIED, '--security-opt', `seccomp=${file}`)).toEqual(Object.fromEntries(DENIED.map((n) => [n, EOPNOTSUPP])));
    // No filter: the kernel answers. Past a permission check these calls fail on their bad arguments
    // (EFAULT) or succeed; kexec_load, init_module and (before Linux 6.10) open_by_handle_at are
    // refused by the kernel itself in a user namespace (EPERM), or absent from it (ENOSYS).
    const free = probe(DENIED, '--security-opt', 'seccomp=unconfined');
    for (const n of DENIED) expect([n, free[n]]).not.toEqual([n, EOPNOTSUPP]);
    for (const n of ['perf_event_open', 'userfaultfd', 'add_key']) expect([n, free[n]]).not.toEqual([n, expected[n]]);
    expect(free.getpid ?? 0).toBe(0);
  });

  it('follows the capabilities: --cap-add SYS_ADMIN lets perf_event_open through, --cap-add DAC_READ_SEARCH open_by_handle_at', () => {
    const caps = [...DEFAULT_CAPABILITIES, 'SYS_ADMIN', 'DAC_READ_SEARCH'].map((c) => `CAP_${c}`);
    expect([profileErrno('perf_event_open', caps), profileErrno('open_by_handle_at', caps)]).toEqual([0, 0]);
    const withCaps = probe(['perf_event_open'], '--cap-add', 'SYS_ADMIN');
    const unconfined = probe(['perf_event_open'], '--cap-add', 'SYS_ADMIN', '--security-opt', 'seccomp=unconfined');
    expect(withCaps).toEqual(unconfined); // the kernel's answer, as with no filter
    expect(withCaps.perf_event_open).not.toBe(profileErrno('perf_event_open'));
    const dac = probe(['open_by_handle_at'], '--cap-add', 'DAC_READ_SEARCH');
    expect(dac).toEqual(probe(['open_by_handle_at'], '--cap-add', 'DAC_READ_SEARCH', '--security-opt', 'seccomp=unconfined'));
  });

  it('shows Seccomp: 2 under the default profile and 0 unconfined, in the container and in exec --join', () => {
    expect(seccompLine(sh('cat /proc/self/status').stdout)).toBe('2');
    expect(seccompLine(sh('cat /proc/self/status', '--security-opt', 'seccomp=unconfined').stdout)).toBe('0');
    for (const [name, opt, want] of [
      ['filtered', [], '2'],
      ['free', ['--security-opt', 'seccomp=unconfined'], '0'],
    ] as const) {
      expect(nsbox(root, ['run', '-d', '--pod', 'sc', '--name', name, ...opt, 'probe', 'sleep', '1000']).code).toBe(0);
      const r = nsbox(root, ['exec', '--join', name, 'sc', '--', 'cat', '/proc/self/status']);
      expect([name, seccompLine(r.stdout)]).toEqual([name, want]);
      // the exec is under the container's own program: the same refusals
      const p = nsbox(root, ['exec', '--join', name, 'sc', '--', 'seccomp-probe', 'perf_event_open']);
      expect(p.code).toBe(0);
      if (want === '2') expect(p.stdout).toBe(`perf_event_open ${profileErrno('perf_event_open')}\n`);
      else expect(p.stdout).not.toBe(`perf_event_open ${profileErrno('perf_event_open')}\n`);
      expect(nsbox(root, ['rm', '-f', `sc/${name}`]).code).toBe(0);
    }
  });

  it('inspect shows the profile: the default file, a given one, or unconfined (podman\'s SeccompProfilePath), and the options given', () => {
    const custom = profileFile('allow-all.json', { defaultAction: 'SCMP_ACT_ALLOW' });
    for (const [name, opt, path] of [
      ['i-default', [], artifacts.seccompDefault],
      ['i-custom', ['--security-opt', `seccomp=${custom}`], custom],
      ['i-free', ['--security-opt', 'seccomp=unconfined'], 'unconfined'],
    ] as const) {
      expect(nsbox(root, ['run', '--pod', 'sc', '--name', name, ...opt, 'probe', 'true']).code).toBe(0);
      const [c] = JSON.parse(nsbox(root, ['inspect', `sc/${name}`]).stdout);
      expect([name, c.SeccompProfilePath, c.HostConfig.SecurityOpt]).toEqual([name, path, opt.length ? [opt[1]] : []]);
      expect(nsbox(root, ['rm', `sc/${name}`]).code).toBe(0);
    }
  });

  it('a custom profile that denies mkdir gives EPERM for mkdir and leaves the rest working', () => {
    const p = JSON.parse(defaultProfileText) as { syscalls: Rule[] };
    for (const r of p.syscalls) r.names = r.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat');
    p.syscalls.push({ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: EPERM });
    const file = profileFile('no-mkdir.json', p);
    expect(probe(['mkdir', 'getpid'], '--security-opt', `seccomp=${file}`)).toEqual({ mkdir: EPERM, getpid: 0 });
    const r = sh('mkdir /tmp/d 2>&1; echo mkdir=$?; touch /tmp/f && ls /tmp && rm /tmp/f && echo hi | sed s/hi/ok/', '--security-opt', `seccomp=${file}`);
    expect(r.stdout).toBe("mkdir: can't create directory '/tmp/d': Operation not permitted\nmkdir=1\nf\nok\n");
    // control: the default profile lets mkdir through
    expect(probe(['mkdir'])).toEqual({ mkdir: 0 });
  });

  it('a nested unshare -Urn works under the default profile, and ordinary busybox workloads pass', () => {
    expect(probe(['setns'])).toEqual(probe(['setns'], '--security-opt', 'seccomp=unconfined')); // the kernel's answer to a bad fd
    const nested = sh('unshare -Urn sh -c "id -u; ip link show | grep -c LOOPBACK; readlink /proc/self/ns/user"; readlink /proc/self/ns/user');
    expect(nested.code, nested.stderr).toBe(0);
    const [uid, loopbacks, innerNs, outerNs] = nested.stdout.trim().split('\n');
    expect([uid, loopbacks]).toEqual(['0', '1']);
    expect(innerNs).not.toBe(outerNs); // a user namespace of its own
    const work = sh(
      'set -e; mkdir -p /srv/w; cd /srv/w; seq 1 200 > n; sort -rn n | head -1; tar -cf a.tar n; tar -tf a.tar; gzip -k n; zcat n.gz | wc -l; ' +
        'ps | grep -c ps >/dev/null; date +%Y >/dev/null; sleep 0.1; (echo bg &); wait; httpd -p 127.0.0.1:8000 -h /srv -f & sleep 0.3; wget -qO- http://127.0.0.1:8000/hello.txt; kill %1',
    );
    expect(work.code, work.stderr).toBe(0);
    expect(work.stdout).toBe('200\nn\n200\nbg\nhello from the image\n');
  });

  it('the library runs under the default profile, and takes securityOpt', async () => {
    const filtered = await lib.run('probe', { name: 'lf', command: ['sleep', '1000'] });
    expect(seccompLine((await filtered.exec(['cat', '/proc/self/status'])).stdout)).toBe('2');
    await filtered.remove({ force: true });
    const free = await lib.run('probe', { name: 'lu', command: ['sleep', '1000'], securityOpt: ['seccomp=unconfined', 'no-new-privileges'] });
    expect(seccompLine((await free.exec(['cat', '/proc/self/status'])).stdout)).toBe('0');
    await free.remove({ force: true });
  });

  it('compiles a program once: cached in the data root by profile and capabilities, written atomically, kept by each container', () => {
    const cache = join(root, 'seccomp');
    const before = existsSync(cache) ? readdirSync(cache) : [];
    expect(nsbox(root, ['run', '--pod', 'sc', '--name', 'k1', '--cap-add', 'SYS_NICE', 'probe', 'true']).code).toBe(0);
    const after = readdirSync(cache);
    // The program by its profile's text, and the same by the profile file's stamp.
    const fresh = after.filter((f) => !before.includes(f));
    expect(fresh).toHaveLength(2);
    // [the .bpf, the .stamp], whichever hash sorts first
    const added = [fresh.find((f) => f.endsWith('.bpf')), fresh.find((f) => f.endsWith('.stamp'))];
    expect(added[0]).toMatch(/^[0-9a-f]{16}\.bpf$/);
    expect(added[1]).toMatch(/^[0-9a-f]{16}\.stamp$/);
    const mtime = statSync(join(cache, added[0]!)).mtimeMs;
    expect(nsbox(root, ['run', '--pod', 'sc', '--name', 'k2', '--cap-add', 'SYS_NICE', 'probe', 'true']).code).toBe(0);
    expect(readdirSync(cache)).toEqual(after); // the same capabilities: no new program
    expect(statSync(join(cache, added[0]!)).mtimeMs).toBe(mtime);
    expect(after.filter((f) => f.startsWith('.tmp'))).toEqual([]);
    // each container keeps the program it was made with
    const dir = (name: string) => join(root, 'pods', JSON.parse(nsbox(root, ['inspect', `sc/${name}`]).stdout)[0]?.Pod ?? '', 'containers', name);
    const kept = join(dir('k1'), 'seccomp.bpf');
    const entry = readFileSync(join(cache, added[0]!)); // the whole key, then the program
    expect(entry.subarray(entry.length - readFileSync(kept).length)).toEqual(readFileSync(kept));
    expect(entry.toString('utf8')).toContain('"SYS_NICE"');
    // other capabilities: another program (SYS_NICE changes the rules)
    expect(nsbox(root, ['run', '--pod', 'sc', '--name', 'k3', 'probe', 'true']).code).toBe(0);
    expect(readFileSync(join(dir('k3'), 'seccomp.bpf'))).not.toEqual(readFileSync(kept));
    // entries that hold another key (a hash collision, a torn file) are not used: compiled again
    const stampEntry = readFileSync(join(cache, added[1]!));
    for (const f of added) writeFileSync(join(cache, f!), Buffer.concat([Buffer.from([3, 0, 0, 0]), Buffer.from('xyz'), Buffer.alloc(64)]));
    expect(probe(['perf_event_open'], '--cap-add', 'SYS_NICE')).toEqual({ perf_event_open: profileErrno('perf_event_open') });
    expect(readFileSync(join(cache, added[0]!))).toEqual(entry);
    expect(readFileSync(join(cache, added[1]!))).toEqual(stampEntry);
    for (const n of ['k1', 'k2', 'k3']) expect(nsbox(root, ['rm', `sc/${n}`]).code).toBe(0);
  });

  it('a profile file rewritten in place, to the same size, is read again: its new rules apply', () => {
    // Found by stamp first: the stamp must change with the content (here with the same inode and size).
    const rules = (errno: number) => JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['perf_event_open'], action: 'SCMP_ACT_ERRNO', errnoRet: errno }] });
    const file = profileFile('rewritten.json', rules(EOPNOTSUPP));
    expect(probe(['perf_event_open'], '--security-opt', `seccomp=${file}`)).toEqual({ perf_event_open: EOPNOTSUPP });
    const inode = statSync(file).ino;
    writeFileSync(file, rules(EPERM + 10)); // 11 (EAGAIN): two digits, as 95
    expect([statSync(file).ino, statSync(file).size]).toEqual([inode, rules(EOPNOTSUPP).length]);
    expect(probe(['perf_event_open'], '--security-opt', `seccomp=${file}`)).toEqual({ perf_event_open: EPERM + 10 });
  });

  it.each([
    ['unknown field', '{"defaultAction":"SCMP_ACT_ERRNO","bogus":1}', 'bogus: unknown field'],
    ['unknown action', '{"defaultAction":"SCMP_ACT_NOPE"}', 'defaultAction: unknown action "SCMP_ACT_NOPE"'],
    ['errno of the wrong type', '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":"x"}]}', 'syscalls[0].errnoRet: must be an errno number'],
    ['argument index out of range', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}', 'syscalls[0].args[0].index'],
    ['unknown rule field', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errno":1}]}', 'syscalls[0].errno: unknown field'],
    ['not JSON', '{"defaultAction":', '(file): not JSON'],
    ['missing file', null, 'cannot read seccomp profile'],
  ])('a malformed profile (%s) is a one-line error naming the field, and nothing is left behind', (_what, text, field) => {
    const file = text === null ? join(root, 'no-such-profile.json') : profileFile('bad.json', text);
    const podsBefore = podDirs(root);
    const containers = nsbox(root, ['ps', '-a', '-q']).stdout;
    // This root's pods' keepers (their command lines name its pod directories); not CLI processes (a
    // keeper runs `rm -f` for an earlier --rm container), nor other test files' pods, which come and go meanwhile.
    const pods = () => leftoverProcessesNow(root).filter((p) => p.includes(root) && !p.includes('nsbox.cjs'));
    const processes = pods();
    for (const args of [['--pod', 'sc', '--name', 'bad'], ['--name', 'bad-own']]) {
      const r = nsbox(root, ['run', ...args, '--security-opt', `seccomp=${file}`, 'probe', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(field);
      expect(r.stderr).toContain(file);
    }
    expect(podDirs(root)).toEqual(podsBefore);
    expect(nsbox(root, ['ps', '-a', '-q']).stdout).toBe(containers);
    for (const pod of podDirs(root)) expect([pod, existsSync(join(root, 'pods', pod, 'containers', 'bad'))]).toEqual([pod, false]);
    expect(pods()).toEqual(processes);
    // control: the same run with a valid profile starts
    expect(nsbox(root, ['run', '--rm', '--pod', 'sc', '--security-opt', `seccomp=${profileFile('ok.json', { defaultAction: 'SCMP_ACT_ALLOW' })}`, 'probe', 'true']).code).toBe(0);
  });

  it('refuses unknown --security-opt options in one line; no-new-privileges is accepted', () => {
    for (const opt of ['label=disable', 'apparmor=unconfined', 'seccomp', 'mask=relative/path', 'mask=/etc/passwd', 'no-new-privileges=false']) {
      const r = nsbox(root, ['run', '--rm', '--pod', 'sc', '--security-opt', opt, 'probe', 'true']);
      expect([opt, r.code, r.stderr.trimEnd().split('\n').length]).toEqual([opt, 125, 1]);
    }
    expect(nsbox(root, ['run', '--rm', '--pod', 'sc', '--security-opt', 'no-new-privileges', 'probe', 'true']).code).toBe(0);
  });

  it('a profile that denies execve fails at once with a message that says so, not a hang', () => {
    const file = profileFile('no-exec.json', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['execve', 'execveat'], action: 'SCMP_ACT_ERRNO' }] });
    const started = Date.now();
    const r = nsbox(root, ['run', '--rm', '--pod', 'sc', '--security-opt', `seccomp=${file}`, 'probe', 'true']);
    expect(Date.now() - started).toBeLessThan(20_000); // the helper's own timeout is 30 s
    expect(r.code).toBe(126);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('refuses execve');
    expect(r.stderr).toContain(file);
    // control: the same profile allowing execve runs the program
    const ok = profileFile('exec-ok.json', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] });
    expect(nsbox(root, ['run', '--rm', '--pod', 'sc', '--security-opt', `seccomp=${ok}`, 'probe', 'true']).code).toBe(0);
  });

  it('mask= covers another kernel path and unmask= uncovers the default ones', () => {
    const kcoreMounted = (opt: string[]) => sh('grep -c " /proc/kcore " /proc/self/mountinfo || true', ...opt).stdout.trim();
    if (existsSync('/proc/kcore')) {
      expect(kcoreMounted([])).toBe('1');
      expect(kcoreMounted(['--security-opt', 'unmask=/proc/kcore'])).toBe('0');
      expect(kcoreMounted(['--security-opt', 'unmask=ALL'])).toBe('0');
    }
    expect(Number(sh('wc -c < /proc/cpuinfo').stdout.trim())).toBeGreaterThan(0);
    expect(sh('wc -c < /proc/cpuinfo', '--security-opt', 'mask=/proc/cpuinfo').stdout.trim()).toBe('0');
  });
});
