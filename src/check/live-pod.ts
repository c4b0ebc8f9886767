// The live part of `nsbox check`: the path real pods take, through the
// library itself. A pod is created (the shim's clone, the pod's id mapping
// via newuidmap/newgidmap where there is a subuid range, the pause, a pidfd
// on it), a command is exec'd into it, and a container runs from a one-file
// image on an overlayfs root in its own mount namespace. Everything lives in
// a private state root under the temp dir and is removed afterwards.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface ContainerProbe {
  /** How the container's root was made. */
  rootfs: 'overlay' | 'copy';
  /** NSBOX_ROOTFS=copy asked for the copy: overlayfs was not tried. */
  copyForced: boolean;
  exitCode: number;
  stdout: string;
  /** Why overlayfs was refused, from the container's log (rootfs 'copy'). */
  overlayRefusal: string | null;
  ms: number;
}

export interface PodProbe {
  ok: boolean;
  /** The scratch state root (removed afterwards). */
  root: string;
  /** The pod's pause, while it ran. */
  pausePid?: number;
  /** The error that stopped the probe, as the CLI would print it. */
  error?: string;
  /** Which step it was in: create, exec, container. */
  stage?: 'create' | 'exec' | 'container' | 'cleanup';
  /** The pause's uid_map, as the kernel shows it ("0 1000 1; 1 100000 65536"). */
  uidMap?: string;
  warnings: string[];
  createMs?: number;
  execMs?: number;
  /** What the exec saw as its PID 1 (/proc/1/cmdline). */
  pid1?: string;
  container?: ContainerProbe;
}

/** What the probe needs of a library pod (the library's createPod gives one). */
export interface ProbeablePod {
  record: { pause: { pid: number } };
  exec(argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  run(image: string, opts: { name: string; command: string[] }): Promise<{ wait(): Promise<number>; record(): { rootfs: 'overlay' | 'copy'; error: string | null }; logs(): { stdout: string; stderr: string } }>;
  remove(opts: { force: boolean }): Promise<void>;
}

export interface PodProbeOptions {
  /** The static program the container runs (`-v` prints its version): the pause. */
  program: string;
  /** The library's createPod (given by the api layer, which sits above the checks). */
  createPod: (opts: { root: string; name: string; onWarning: (w: string) => void }) => Promise<ProbeablePod>;
  /** Give up after this long (a hang must not hang `nsbox check`). */
  timeoutMs?: number;
}

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'oneLine' in err && typeof err.oneLine === 'function') return String(err.oneLine());
  return err instanceof Error ? err.message : String(err);
}

/** A tarball holding one static program at /<name>: the smallest image a container can run. */
async function oneFileImage(dir: string, program: string, name: string): Promise<string> {
  const { create } = await import('tar');
  const content = join(dir, 'image');
  mkdirSync(content);
  copyFileSync(program, join(content, name));
  const file = join(dir, 'image.tar');
  await create({ file, cwd: content, portable: true }, [name]);
  return file;
}

async function probe(opts: PodProbeOptions, root: string, result: PodProbe): Promise<void> {
  const createPod = opts.createPod;
  let t = performance.now();
  result.stage = 'create';
  const pod = await createPod({ root, name: 'nsbox-check', onWarning: (w) => result.warnings.push(w) });
  try {
    result.createMs = performance.now() - t;
    result.pausePid = pod.record.pause.pid;
    result.uidMap = readFileSync(`/proc/${pod.record.pause.pid}/uid_map`, 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/).join(' ')).join('; ');

    result.stage = 'exec';
    t = performance.now();
    const r = await pod.exec(['cat', '/proc/1/cmdline']);
    result.execMs = performance.now() - t;
    if (r.exitCode !== 0) throw new Error(`\`cat /proc/1/cmdline\` in the pod exited with ${r.exitCode}: ${r.stderr.trim()}`);
    result.pid1 = r.stdout.split('\0')[0] ?? '';

    result.stage = 'container';
    const image = await oneFileImage(root, opts.program, 'nsbox-check');
    t = performance.now();
    const c = await pod.run(image, { name: 'check', command: ['/nsbox-check', '-v'] });
    const exitCode = await c.wait();
    const record = c.record();
    const logs = c.logs();
    const refusal = /overlayfs unavailable \(([^)]*)\)/.exec(logs.stderr)?.[1] ?? null;
    result.container = { rootfs: record.rootfs, copyForced: process.env.NSBOX_ROOTFS === 'copy', exitCode, stdout: logs.stdout, overlayRefusal: refusal, ms: performance.now() - t };
    if (exitCode !== 0) throw new Error(`the container exited with ${exitCode}${record.error ? `: ${record.error}` : logs.stderr ? `: ${logs.stderr.trim()}` : ''}`);
    result.stage = 'cleanup';
  } finally {
    await pod.remove({ force: true });
  }
}

/** Runs the probe; never throws: what failed, and where, is in the result. */
export async function probePod(opts: PodProbeOptions): Promise<PodProbe> {
  const root = mkdtempSync(join(tmpdir(), 'nsbox-check-pod-'));
  const result: PodProbe = { ok: false, root, warnings: [] };
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([probe(opts, root, result).then(() => 'done' as const), timedOut]);
    if (outcome === 'timeout') result.error = `no answer after ${timeoutMs / 1000} s`;
    else result.ok = true;
  } catch (err) {
    result.error = describe(err);
  } finally {
    clearTimeout(timer);
  }
  try {
    const { removeTreeAsOwner } = await import('../idmap/remove-tree.js');
    await removeTreeAsOwner(root);
  } catch (err) {
    if (result.ok) Object.assign(result, { ok: false, stage: 'cleanup', error: `cannot remove ${root}: ${describe(err)}` });
  }
  return result;
}
