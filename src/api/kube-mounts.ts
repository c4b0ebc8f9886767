// The host side of a kube pod's volumes: the pod's own directories
// (emptyDir, configMap and secret files, in its state directory), hostPath
// checks by `type`, and subPaths. A subPath is walked one component at a
// time without following links, and what it names must still be inside the
// volume: a link planted in a volume (by a container that writes it) cannot
// turn a later mount into one of the host's files.
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { NsboxError } from '../errors.js';
import type { Mount } from '../container/mounts.js';
import type { KubeMount, PodVolume } from '../kube/model.js';
import { volumePaths } from '../volume/store.js';

function bad(message: string, hint: string): NsboxError {
  return new NsboxError('KUBE_INVALID', message, hint);
}

export function podVolumeDir(podDir: string, name: string): string {
  return join(podDir, 'kube-volumes', name);
}

/** What each of the pod's directories is (kube-volumes.json beside them), for `kube generate`. */
export interface PodVolumeMeta {
  name: string;
  from?: PodVolume['from'];
  files: { key: string; path: string; mode: number }[];
}

export function readPodVolumeMeta(podDir: string): PodVolumeMeta[] {
  try {
    return JSON.parse(readFileSync(join(podDir, 'kube-volumes.json'), 'utf8')) as PodVolumeMeta[];
  } catch {
    return [];
  }
}

/** Which variables of each container came from ConfigMaps and Secrets (kube-env.json), for `kube generate`. */
export type EnvRefs = Record<string, { name: string; kind: 'ConfigMap' | 'Secret'; source: string; key: string }[]>;

export function writeEnvRefs(podDir: string, refs: EnvRefs): void {
  writeFileSync(join(podDir, 'kube-env.json'), JSON.stringify(refs), { mode: 0o600 });
}

export function readEnvRefs(podDir: string): EnvRefs {
  try {
    return JSON.parse(readFileSync(join(podDir, 'kube-env.json'), 'utf8')) as EnvRefs;
  } catch {
    return {};
  }
}

/** Writes the pod's emptyDirs (empty, mode 1777 as Kubernetes makes them) and its configMap and secret files. */
export function writePodVolumes(podDir: string, volumes: PodVolume[]): void {
  const meta: PodVolumeMeta[] = volumes.map((v) => ({ name: v.name, ...(v.from ? { from: v.from } : {}), files: v.files.map((f) => ({ key: f.key, path: f.path, mode: f.mode })) }));
  writeFileSync(join(podDir, 'kube-volumes.json'), JSON.stringify(meta), { mode: 0o600 });
  for (const v of volumes) {
    const dir = podVolumeDir(podDir, v.name);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, v.mode); // past the umask
    for (const f of v.files) {
      const path = join(dir, f.path);
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      writeFileSync(path, f.content, { mode: f.mode, flag: 'wx' });
      chmodSync(path, f.mode);
    }
  }
}

/** `base/sub` with no link on the way and inside `base`; missing directories are made (Kubernetes makes them too). */
export function resolveSubPath(base: string, sub: string, what: string): { path: string; kind: 'file' | 'dir' } {
  const root = realpathSync(base);
  let path = root;
  const parts = sub.split('/');
  parts.forEach((part, i) => {
    if (part === '..' || part === '.' || part === '') throw bad(`${what}: subPath ${JSON.stringify(sub)} leads out of the volume`, 'give a path inside the volume, without ..');
    path = join(path, part);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      mkdirSync(path, { mode: 0o755 });
      st = lstatSync(path);
    }
    if (st.isSymbolicLink()) throw bad(`${what}: subPath ${JSON.stringify(sub)} goes through the symbolic link ${parts.slice(0, i + 1).join('/')} in the volume`, 'give a path of real directories and files in the volume');
    if (i < parts.length - 1 && !st.isDirectory()) throw bad(`${what}: subPath ${JSON.stringify(sub)}: ${parts.slice(0, i + 1).join('/')} is not a directory`, 'give a path inside the volume');
  });
  const real = realpathSync(path);
  if (real !== root && !real.startsWith(root + sep)) throw bad(`${what}: subPath ${JSON.stringify(sub)} resolves outside the volume`, 'give a path inside the volume');
  const st = statSync(real);
  if (!st.isDirectory() && !st.isFile()) throw bad(`${what}: subPath ${JSON.stringify(sub)} is neither a file nor a directory`, 'mount a file or a directory');
  return { path: real, kind: st.isDirectory() ? 'dir' : 'file' };
}

/** hostPath with its `type` checked (and, for the *OrCreate types, made). */
function hostSource(m: Extract<KubeMount, { kind: 'host' }>, what: string): { path: string; kind: 'file' | 'dir' } {
  const want = m.hostType;
  if (want === 'DirectoryOrCreate') mkdirSync(m.source, { recursive: true, mode: 0o755 });
  if (want === 'FileOrCreate') {
    try {
      closeSync(openSync(m.source, 'a', 0o644));
    } catch (err) {
      throw bad(`${what}: cannot create the file ${m.source}: ${(err as NodeJS.ErrnoException).code}`, 'check that its directory exists and is yours');
    }
  }
  let st;
  try {
    st = statSync(m.source);
  } catch {
    throw bad(`${what}: the host path ${m.source} does not exist`, want ? 'create it first' : 'create it first, or give type: DirectoryOrCreate');
  }
  const is = { Directory: st.isDirectory(), DirectoryOrCreate: st.isDirectory(), File: st.isFile(), FileOrCreate: st.isFile(), Socket: st.isSocket() } as Record<string, boolean>;
  if (want && !is[want]) throw bad(`${what}: the host path ${m.source} is not a ${want.replace('OrCreate', '').toLowerCase()}`, `fix the path, or its type`);
  if (!st.isDirectory() && !st.isFile() && !st.isSocket()) throw bad(`${what}: the host path ${m.source} is neither a file, a directory nor a socket`, 'share a file, a directory or a socket');
  // The bind resolves its source after the container's root is in place: give it the host's real path.
  return { path: realpathSync(m.source), kind: st.isDirectory() ? 'dir' : 'file' };
}

/** The container's mounts, from the manifest's, with every host path made and checked. */
export function kubeMounts(mounts: KubeMount[], ctx: { podDir: string; dataRoot: string; container: string }): Mount[] {
  return mounts.map((m): Mount => {
    const what = `container ${ctx.container}, mount ${m.target}`;
    if (m.kind === 'tmpfs') return { type: 'tmpfs', target: m.target, options: m.readOnly ? 'mode=1777,ro' : 'mode=1777' };
    if (m.kind === 'volume' && !m.subPath) return { type: 'volume', name: m.name, source: '', target: m.target, readOnly: m.readOnly };
    let base: { path: string; kind: 'file' | 'dir' };
    if (m.kind === 'host') base = hostSource(m, what);
    else base = { path: m.kind === 'volume' ? volumePaths.data(ctx.dataRoot, m.name) : podVolumeDir(ctx.podDir, m.volume), kind: 'dir' };
    if (!m.subPath) return { type: 'bind', source: base.path, target: m.target, readOnly: m.readOnly, kind: base.kind };
    const src = resolveSubPath(base.path, m.subPath, what);
    // Checked now, and walked again with no symlink when the bind is made: the volume is the containers' to write.
    return { type: 'bind', source: src.path, target: m.target, readOnly: m.readOnly, kind: src.kind, within: realpathSync(base.path) };
  });
}
