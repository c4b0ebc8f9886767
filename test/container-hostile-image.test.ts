// Images whose setup paths are symlinks out of the rootfs: `etc`, the /etc
// files nsbox binds, `dev`, `proc`, `sys`, `tmp`, and with --read-only
// `var` and `run`, each pointing at a host path, through /proc/1/root (the
// pause's root) or through /proc/self/root. Setting the container up must
// resolve them inside the container's root: `run` either refuses with one
// line (exit 125) or runs with the link followed inside; nothing ever
// appears at, or changes under, the host-side target. One image per vector,
// in overlay and in copy mode; the targets are a fresh empty host directory
// (for directory links) or a host path whose leaf does not exist yet (for
// file links), next to a canary.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectCanaryIntact, plantCanary, type HostCanary } from './helpers/canary.js';
import { isOneLineRefusal, yieldToEventLoop } from './helpers/cli-process.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { between, mountAt, parseMountinfo } from './helpers/mountinfo.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;
let canary: HostCanary;

const MODES = [
  { mode: 'overlay', pod: 'ovl', env: {} },
  { mode: 'copy', pod: 'cpy', env: { NSBOX_ROOTFS: 'copy' } },
] as const;

interface Vector {
  /** The image path that is a symlink. */
  link: string;
  /** A directory link points at an existing empty host dir; a file link at a host path that does not exist. */
  kind: 'dir' | 'file';
  runArgs: string[];
}

const VECTORS: Vector[] = [
  { link: 'etc', kind: 'dir', runArgs: [] },
  { link: 'etc/hosts', kind: 'file', runArgs: [] },
  { link: 'etc/resolv.conf', kind: 'file', runArgs: [] },
  { link: 'etc/hostname', kind: 'file', runArgs: [] },
  { link: 'dev', kind: 'dir', runArgs: [] },
  { link: 'proc', kind: 'dir', runArgs: [] },
  { link: 'sys', kind: 'dir', runArgs: [] },
  { link: 'tmp', kind: 'dir', runArgs: [] },
  { link: 'tmp', kind: 'dir', runArgs: ['--read-only'] },
  { link: 'var', kind: 'dir', runArgs: ['--read-only'] },
  { link: 'run', kind: 'dir', runArgs: ['--read-only'] },
];

const VIAS = {
  'a host path': (target: string) => target,
  '/proc/1/root': (target: string) => `/proc/1/root${target}`,
  '/proc/self/root': (target: string) => `/proc/self/root${target}`,
} as const;

/** Setup done, the container also writes through its own links, then reports. */
const PROBE = 'echo ran-inside; for d in /etc /tmp /var/tmp /run; do touch $d/planted-by-container 2>/dev/null; done; echo ===; cat /proc/self/mountinfo; echo ===';

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  for (const { pod, env } of MODES) {
    const r = nsbox(root, ['pod', 'create', '--name', pod], { env: { ...process.env, ...env } });
    expect(r.code, r.stderr).toBe(0);
  }
});
beforeEach(async () => {
  await yieldToEventLoop();
  canary = plantCanary(root, ['target']);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

/**
 * The positive control: a sound image with the same flags runs with its
 * setup done (/etc/hosts written, /proc and /dev there, with --read-only a
 * read-only root and writable /tmp, /run and /var/tmp), and its root is
 * mounted the way this mode says.
 */
function expectSoundImageRuns(pod: string, mode: string, runArgs: string[]): void {
  const checks = [
    'grep -q localhost /etc/hosts && echo hosts-ok',
    '[ -r /proc/self/stat ] && [ -c /dev/null ] && echo proc-dev-ok',
    'touch /rootfile 2>/dev/null || echo root-ro',
    'mkdir -p /var/tmp 2>/dev/null; touch /tmp/w /run/w /var/tmp/w && echo scratch-rw',
  ].join('; ');
  const r = nsbox(root, ['run', '--pod', pod, ...runArgs, 'busybox', 'sh', '-c', `${PROBE}; ${checks}`]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(/^ran-inside\n/);
  const readOnly = runArgs.includes('--read-only');
  expect(r.stdout).toMatch(new RegExp(`\nhosts-ok\nproc-dev-ok\n${readOnly ? 'root-ro\\n' : ''}scratch-rw\n$`));
  const rootMount = mountAt(parseMountinfo(between(r.stdout, '===', '===')), '/');
  expect(rootMount?.fsType === 'overlay', `the root in ${mode} mode`).toBe(mode === 'overlay');
}

describe.each(MODES)(`hostile image symlinks at setup, $mode mode (${testMode})`, ({ mode, pod }) => {
  const cases = VECTORS.flatMap((v) => Object.keys(VIAS).map((via) => ({ ...v, via: via as keyof typeof VIAS })));
  it.each(cases)('$link -> $via ($kind) $runArgs', ({ link, kind, runArgs, via }) => {
    expectSoundImageRuns(pod, mode, runArgs);
    const hostTarget = kind === 'dir' ? `${canary.dir}/target` : `${canary.dir}/${link.replace(/\//g, '-')}-new`;
    const image = importImage(root, `hostile-${mode}-${link.replace(/\//g, '-')}-${Object.keys(VIAS).indexOf(via)}`, [{ path: link, type: 'symlink', linkpath: VIAS[via](hostTarget) }]);
    const r = nsbox(root, ['run', '--pod', pod, ...runArgs, image, 'sh', '-c', PROBE]);
    const refused = isOneLineRefusal(r) && r.stdout === '';
    const ranInside = r.code === 0 && r.stdout.startsWith('ran-inside\n');
    expect(refused || ranInside, `neither a one-line refusal nor a run (exit ${r.code}):\n${r.stdout}${r.stderr}`).toBe(true);
    // Nothing appeared at the target or next to it, and the canary is as it was.
    expectCanaryIntact(canary, r.stdout, r.stderr);
  });
});
