// --user: names are looked up in the image without following its links onto
// the host (regular files only, bounded), and ids are checked against what
// the pod maps: an image whose etc/passwd points at a host file, at
// /dev/zero, or whose etc is a host dir, makes `run --user NAME` fail with
// one line, quickly and without ballooning; (uid_t)-1 and ids beyond the
// mapping are refused before anything runs, instead of running as root.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TarEntry } from './helpers/archives.js';
import { CANARY_UID, expectCanaryIntact, plantCanary, type HostCanary } from './helpers/canary.js';
import { isOneLineRefusal, nsboxLimited, podEntry, yieldToEventLoop } from './helpers/cli-process.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
let canary: HostCanary;
const POD = 'usr';
/** A lookup that reads without end must fail inside this, not take the machine's memory. */
const LIMITS = { dataBytes: 1024 * 1024 * 1024, timeoutMs: 20_000 };

const runAs = (image: string, user: string, ...command: string[]) => nsboxLimited(root, ['run', '--pod', POD, '--user', user, image, ...command], LIMITS);

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  expect(nsbox(root, ['pod', 'create', '--name', POD]).code).toBe(0);
});
beforeEach(async () => {
  await yieldToEventLoop();
  canary = plantCanary(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

/** A directory at `path` inside the image, with its parents and a passwd and group that know only root. */
function imageDirWithIds(path: string): TarEntry[] {
  const parts = path.split('/').filter(Boolean);
  const dirs = parts.map((_, i) => ({ path: `${parts.slice(0, i + 1).join('/')}/`, type: 'dir' as const, mode: i === 0 ? 0o1777 : 0o755 }));
  return [...dirs, { path: `${parts.join('/')}/passwd`, content: 'root:x:0:0:root:/root:/bin/sh\n' }, { path: `${parts.join('/')}/group`, content: 'root:x:0:\n' }];
}

describe(`--user NAME never reads the host through the image's links (${testMode})`, () => {
  const vectors: [string, string, () => TarEntry[]][] = [
    ['etc/passwd -> the host canary', 'somename', () => [{ path: 'etc/passwd', type: 'symlink', linkpath: canary.file }]],
    ['etc/passwd -> /proc/self/root + the host canary', 'somename', () => [{ path: 'etc/passwd', type: 'symlink', linkpath: `/proc/self/root${canary.file}` }]],
    ['etc/passwd -> /dev/zero', 'somename', () => [{ path: 'etc/passwd', type: 'symlink', linkpath: '/dev/zero' }]],
    // The same path exists inside the image (without somename), so setup succeeds and only a host-side read shows.
    ['etc -> a host dir with passwd and group', 'somename', () => [{ path: 'etc', type: 'symlink', linkpath: `${canary.dir}/etc` }, ...imageDirWithIds(`${canary.dir}/etc`)]],
    ['etc/group -> a host group file', 'www-data:somegroup', () => [{ path: 'etc/group', type: 'symlink', linkpath: `${canary.dir}/etc/group` }]],
  ];

  it.each(vectors)('%s: run --user %s fails with one line, quickly', (what, user, entries) => {
    // Positive control: the same lookup resolves a name of a sound image.
    const sound = runAs('busybox', 'www-data', 'id', '-u');
    expect(sound.stdout, sound.stderr).toBe('33\n');
    const image = importImage(root, `user-${vectors.findIndex((v) => v[0] === what)}`, entries());
    const r = runAs(image, user, 'sh', '-c', 'echo "ran as $(id -u):$(id -g)"');
    expect(r.finished, 'the CLI was still running at the deadline').toBe(true);
    expect(r.signal, `the CLI died of ${r.signal}: ${r.stderr.slice(0, 300)}`).toBeNull();
    expect(isOneLineRefusal(r), `exit ${r.code}: ${r.stdout}${r.stderr.slice(0, 300)}`).toBe(true);
    expect(r.stdout).not.toContain(String(CANARY_UID));
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });
});

describe(`--user ids are checked against the pod's mapping (${testMode})`, () => {
  /** The first uid the pod does not map (its uid_map, read from the host). */
  function firstUnmappedUid(): number {
    const map = readFileSync(`/proc/${podEntry(root, POD).pausePid}/uid_map`, 'utf8');
    return Math.max(...map.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number)).map(([inside, , count]) => inside! + count!));
  }

  const cases: [string, (beyond: number) => string][] = [
    ['uid (uid_t)-1', () => '4294967295'],
    ['gid (gid_t)-1', () => '65534:4294967295'],
    ['the first uid beyond the mapping', (beyond) => String(beyond)],
    ['the first gid beyond the mapping', (beyond) => `0:${beyond}`],
  ];

  it.each(cases)('refuses %s before anything runs', (what, userFor) => {
    // Positive control: a mapped user and group run, as themselves.
    const ok = runAs('busybox', '65534:65534', 'sh', '-c', 'echo "ran as $(id -u):$(id -g)"');
    expect(ok.stdout, ok.stderr).toBe('ran as 65534:65534\n');
    const beyond = firstUnmappedUid();
    expect(beyond).toBe(testMode === 'rootless' ? 65537 : 4294967295);
    const user = userFor(beyond);
    const name = `ids-${cases.findIndex((c) => c[0] === what)}`;
    const r = nsboxLimited(root, ['run', '--pod', POD, '--name', name, '--user', user, 'busybox', 'sh', '-c', 'echo "ran as $(id -u):$(id -g)"'], LIMITS);
    expect(isOneLineRefusal(r), `--user ${user}: exit ${r.code}: ${r.stdout}${r.stderr}`).toBe(true);
    expect(r.stdout).toBe('');
    const running = JSON.parse(nsbox(root, ['ps', '--pod', POD, '--format', 'json']).stdout) as { name: string }[];
    expect(running.map((c) => c.name)).not.toContain(name);
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });
});
