// A container's working directory and the pause's root never lead to the
// host. Paths from flags and images resolve inside the container's root with
// /proc magic links refused, so `run` either refuses them (exit 125, one
// line) or runs with a cwd inside the container; and the pause's
// /proc/1/root, /proc/1/cwd and /proc/1/fd show nothing of the host even to
// a container that may trace it. Every test first shows that its probe
// reads a comparable file inside the container, and ends with a host-side
// canary that was neither read, changed nor joined by a new file.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectCanaryIntact, plantCanary, type HostCanary } from './helpers/canary.js';
import { isOneLineRefusal, podProcesses, yieldToEventLoop } from './helpers/cli-process.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { HELLO, importConfigImage, importImage } from './helpers/images.js';
import { nsbox, removeAllPods, type CliResult } from './helpers/nsbox.js';

let root: string;
let canary: HostCanary;
let linkImage: string;
let dockerWorkdirImage: string;
let ociWorkdirImage: string;

/**
 * Prints the cwd, whether it is inside the process's root (reachable from /
 * as the same directory), then reads ./$1, appends to it, creates a file in
 * ./$2 and lists the cwd: what an escaped cwd would do to the host.
 */
const CWD_PROBE = [
  'echo "cwd=$(pwd -P)"',
  'here=$(stat -c %d:%i .); there=$(stat -c %d:%i "$(pwd -P)" 2>/dev/null)',
  '[ -n "$there" ] && [ "$here" = "$there" ] && echo "cwd inside the root"',
  'cat "./$1" 2>&1',
  'echo planted-by-container >> "./$1" 2>/dev/null',
  'touch "./$2/planted-by-container" 2>/dev/null',
  'ls -a . 2>&1',
].join('; ');

/** Runs the probe with `runArgs` (e.g. -w DIR), reading `file` and creating a file in `dir`, both relative to the cwd. */
const probeCwd = (image: string, runArgs: string[], file: string, dir: string): CliResult =>
  nsbox(root, ['run', '--pod', 'wd', ...runArgs, image, 'sh', '-c', CWD_PROBE, 'sh', file, dir]);

/** The canary's paths relative to the host's root, as a cwd at the host's / would reach them. */
const fromHostRoot = () => ({ file: `.${canary.file}`, dir: `.${canary.dir}` });

/** Refused with one line, or run with a cwd inside the container; never the canary. */
function expectConfined(r: CliResult): void {
  const refused = isOneLineRefusal(r) && r.stdout === '';
  const inside = r.code === 0 && r.stdout.includes('cwd inside the root');
  expect(refused || inside, `neither refused nor confined (exit ${r.code}):\n${r.stdout}${r.stderr}`).toBe(true);
  expectCanaryIntact(canary, r.stdout, r.stderr);
}

/** The positive control: the same probe, at a directory of the image, reads the image's file. */
function expectProbeWorksInside(image: string): void {
  const r = probeCwd(image, ['-w', '/srv'], 'hello.txt', '.');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain('cwd=/srv\ncwd inside the root\n');
  expect(r.stdout).toContain(HELLO);
}

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
  linkImage = importImage(root, 'applink', [{ path: 'app', type: 'symlink', linkpath: '/proc/1/root' }]);
  dockerWorkdirImage = importConfigImage(root, 'workdir-docker', 'docker-save', { WorkingDir: '/proc/1/root', Env: ['PATH=/bin'] });
  ociWorkdirImage = importConfigImage(root, 'workdir-oci', 'oci', { WorkingDir: '/proc/1/cwd', Env: ['PATH=/bin'] });
  for (const [pod, extra] of [
    ['wd', []],
    ['wd-none', ['--network', 'none']],
  ] as const) {
    expect(nsbox(root, ['pod', 'create', '--name', pod, ...extra]).code).toBe(0);
  }
});
beforeEach(async () => {
  await yieldToEventLoop();
  canary = plantCanary(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`the working directory stays inside the container (${testMode})`, () => {
  it.each([['/proc/1/root'], ['/proc/self/root'], ['/proc/1/cwd']])('-w %s', (workdir) => {
    expectProbeWorksInside('busybox');
    const { file, dir } = fromHostRoot();
    expectConfined(probeCwd('busybox', ['-w', workdir], file, dir));
  });

  it("an image's WorkingDir of /proc/1/root (docker save) or /proc/1/cwd (OCI)", () => {
    for (const image of [dockerWorkdirImage, ociWorkdirImage]) {
      expectProbeWorksInside(image);
      const { file, dir } = fromHostRoot();
      expectConfined(probeCwd(image, [], file, dir));
    }
  });

  it('-w /app where the image has app -> /proc/1/root', () => {
    expectProbeWorksInside(linkImage);
    const { file, dir } = fromHostRoot();
    expectConfined(probeCwd(linkImage, ['-w', '/app'], file, dir));
  });

  it('a missing -w directory is made inside the container (as docker does)', () => {
    const made = probeCwd('busybox', ['-w', '/srv/made/by/workdir'], '../../../hello.txt', '.');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('cwd=/srv/made/by/workdir\ncwd inside the root\n');
    expect(made.stdout).toContain(HELLO);
    expectCanaryIntact(canary, made.stdout, made.stderr);
  });

  it('a missing -w directory behind a /proc link is never made on the host', () => {
    expectProbeWorksInside(linkImage);
    for (const [image, workdir] of [
      ['busybox', `/proc/1/root${canary.dir}/newdir`],
      [linkImage, `/app${canary.dir}/newdir`],
    ] as const) {
      expectConfined(probeCwd(image, ['-w', workdir], 'x', '.'));
    }
  });
});

describe(`the pause's root holds nothing of the host (${testMode})`, () => {
  /** Entries of a directory listing (`ls -a`) other than . and .. */
  const entries = (listing: string) => listing.split('\n').filter((e) => e && e !== '.' && e !== '..');

  it.each([
    ['wd', 'SYS_PTRACE'],
    ['wd', 'ALL'],
    ['wd-none', 'SYS_PTRACE'],
    ['wd-none', 'ALL'],
  ])('pod %s, a container with --cap-add %s', (pod, cap) => {
    const sibling = `sib-${cap.toLowerCase()}`;
    expect(nsbox(root, ['run', '-d', '--pod', pod, '--name', sibling, 'busybox', 'sleep', '1000']).code).toBe(0);
    const sib = podProcesses(root, pod).find((p) => p.args === 'sleep 1000');
    expect(sib, 'the sibling container is running').toBeDefined();
    const script = [
      `cat /proc/${sib!.pid}/root/srv/hello.txt`,
      'echo "== root"; ls -a /proc/1/root',
      'echo "== cwd"; ls -a /proc/1/cwd',
      'echo "== fd"; ls /proc/1/fd',
      `echo "== canary"; cat /proc/1/root${canary.file} /proc/1/cwd/.${canary.file} 2>&1`,
      'echo "== end"',
    ].join('; ');
    const r = nsbox(root, ['run', '--pod', pod, '--cap-add', cap, 'busybox', 'sh', '-c', script]);
    // The positive control: with this capability the probe reads another container's root.
    expect(r.stdout.startsWith(HELLO), r.stdout + r.stderr).toBe(true);
    expectCanaryIntact(canary, r.stdout, r.stderr);
    // What one `== name` header introduces, up to the next header (an empty listing is empty).
    const section = (name: string) => new RegExp(`^== ${name}\\n([\\s\\S]*?)^== `, 'm').exec(r.stdout)![1]!;
    // At most the pause binary itself, and no fd at all.
    expect(entries(section('root')).filter((e) => e !== 'pause')).toEqual([]);
    expect(entries(section('cwd')).filter((e) => e !== 'pause')).toEqual([]);
    expect(entries(section('fd'))).toEqual([]);
    expect(nsbox(root, ['rm', '-f', `${pod}/${sibling}`]).code).toBe(0);
  });
});
