// What a user shares with a container, as docker and podman take it:
//   -v HOST:CTR[:ro|rw]   a host file or directory bound into the container
//   -v NAME:CTR[:ro|rw]   a named volume (made on first use; volume/store.ts)
//   --mount type=bind|volume|tmpfs,src=…,dst=…[,ro]   the same in docker's long form
//   --tmpfs CTR[:OPTS]    a fresh tmpfs (size=…, mode=…)
// Validated here, on the host; the plan binds them with every container
// path resolved inside the container's root (an image symlink on the path
// is followed inside it, never out to the host).
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, normalize, posix, resolve } from 'node:path';
import { NsboxError } from '../errors.js';
import { isVolumeName } from '../volume/name.js';
import { randomHex } from '../process/random.js';

export type Mount =
  /**
   * within: a directory `source` lies in that a container may write (a
   * volume's, for a kube subPath). The bind then walks from it with no
   * symlink as it is made, not by the path checked before.
   */
  | { type: 'bind'; source: string; target: string; readOnly: boolean; kind: 'file' | 'dir'; within?: string }
  /** `source` is the volume's _data directory, filled in when the volume is attached (volume-attach.ts); '' before. */
  | { type: 'volume'; name: string; source: string; target: string; readOnly: boolean; noCopy?: boolean; anonymous?: boolean }
  | { type: 'tmpfs'; target: string; options: string };

function invalid(spec: string, why: string, hint: string): NsboxError {
  return new NsboxError('INVALID_ARGUMENT', `invalid volume ${JSON.stringify(spec)}: ${why}`, hint);
}

function containerPath(spec: string, path: string): string {
  if (!path.startsWith('/')) throw invalid(spec, `the container path ${JSON.stringify(path)} is not absolute`, 'give the path inside the container from /, e.g. -v ./site:/srv/site');
  const clean = posix.normalize(path);
  if (clean === '/') throw invalid(spec, 'it would cover the container\'s whole root', 'mount it on a directory inside, e.g. /data');
  return clean.replace(/\/+$/, '');
}

/** `-v HOST:CTR[:ro|rw]` or `-v NAME:CTR[:ro|rw]`; `cwd` resolves a host path given as ./ or ../ (a bare relative one is refused, as docker does). */
export function parseVolume(spec: string, cwd: string = process.cwd()): Mount {
  const parts = spec.split(':');
  // `-v /path`: an anonymous volume, named as docker names them, gone with its container under rm -v or --rm.
  if (parts.length === 1 && spec.startsWith('/')) return anonymousVolume(containerPath(spec, spec), false);
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw invalid(spec, 'it is not HOST:CONTAINER[:ro|rw] or NAME:CONTAINER[:ro|rw]', 'e.g. -v /srv/data:/data, -v ./nginx.conf:/etc/nginx/nginx.conf:ro or -v pgdata:/var/lib/postgresql/data');
  const [host, ctr, mode = 'rw'] = parts as [string, string, string?];
  const flags = mode.split(',').filter(Boolean);
  const unknown = flags.filter((f) => !['ro', 'rw', 'z', 'Z', 'nocopy'].includes(f));
  if (unknown.length) throw invalid(spec, `unknown option ${JSON.stringify(unknown[0])}`, 'use ro, rw or nocopy (z and Z are accepted and change nothing: there is no SELinux labelling here)');
  if (flags.includes('ro') && flags.includes('rw')) throw invalid(spec, 'it says both ro and rw', 'give one of them');
  const readOnly = flags.includes('ro');
  if (isHostPath(host)) {
    if (flags.includes('nocopy')) throw invalid(spec, 'nocopy is for named volumes', 'drop nocopy: a host directory is never filled from the image');
    return bindMount(spec, host, ctr, readOnly, cwd);
  }
  if (isVolumeName(host)) return { type: 'volume', name: host, source: '', target: containerPath(spec, ctr), readOnly, ...(flags.includes('nocopy') ? { noCopy: true } : {}) };
  throw invalid(spec, `${JSON.stringify(host)} is neither a host path nor a volume name`, `give a host path (absolute, or ./${host} for one in this directory), or a volume name matching [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
}

function anonymousVolume(target: string, readOnly: boolean): Mount {
  return { type: 'volume', name: randomHex(32), source: '', target, readOnly, anonymous: true };
}

function isHostPath(p: string): boolean {
  return isAbsolute(p) || p.startsWith('./') || p.startsWith('../') || p === '.' || p === '..';
}

function bindMount(spec: string, host: string, ctr: string, readOnly: boolean, cwd: string): Mount {
  if (!isHostPath(host)) throw invalid(spec, `the host path ${JSON.stringify(host)} is relative`, `give it from /, or as ./${host}`);
  let source = normalize(resolve(cwd, host));
  let kind: 'file' | 'dir';
  try {
    // Without links: the bind resolves its source after pivot_root, where an absolute link would point into the container.
    source = realpathSync(source);
    const st = statSync(source);
    if (st.isDirectory()) kind = 'dir';
    else if (st.isFile()) kind = 'file';
    else throw invalid(spec, `${source} is neither a file nor a directory`, 'share a regular file or a directory');
  } catch (err) {
    if (err instanceof NsboxError) throw err;
    throw invalid(spec, `${source} does not exist`, 'create it first (nsbox does not create host paths)');
  }
  return { type: 'bind', source, target: containerPath(spec, ctr), readOnly, kind };
}

const MOUNT_KEYS: Record<string, string> = {
  type: 'type', source: 'source', src: 'source', target: 'target', destination: 'target', dst: 'target',
  readonly: 'readonly', ro: 'readonly', 'tmpfs-size': 'tmpfs-size', 'tmpfs-mode': 'tmpfs-mode',
  'bind-propagation': 'bind-propagation', 'volume-nocopy': 'volume-nocopy', consistency: 'consistency',
};

/** `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]`, docker's long form. */
export function parseMountFlag(spec: string, cwd: string = process.cwd()): Mount {
  const bad = (why: string, hint: string) => new NsboxError('INVALID_ARGUMENT', `invalid --mount ${JSON.stringify(spec)}: ${why}`, hint);
  const fields = new Map<string, string>();
  for (const part of spec.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    const rawKey = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    const key = MOUNT_KEYS[rawKey];
    if (!key) throw bad(`unknown field ${JSON.stringify(rawKey)}`, 'use type, source (src), target (dst), readonly (ro), tmpfs-size, tmpfs-mode');
    if (fields.has(key)) throw bad(`${rawKey} is given twice`, 'give each field once');
    fields.set(key, eq < 0 ? '' : part.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'volume';
  const target = fields.get('target');
  if (!target) throw bad('it has no target', 'add target=/path/in/container');
  const ro = fields.get('readonly');
  if (ro !== undefined && !['', 'true', '1', 'false', '0'].includes(ro)) throw bad(`readonly=${ro} is not true or false`, 'write readonly, readonly=true or readonly=false');
  const readOnly = ro === '' || ro === 'true' || ro === '1';
  const propagation = fields.get('bind-propagation');
  if (propagation !== undefined && !['private', 'rprivate'].includes(propagation)) throw bad(`bind-propagation=${propagation} is not supported`, 'binds are private (rprivate); drop the field');
  const only = (allowed: string[]) => {
    for (const k of fields.keys()) if (!['type', 'target', 'consistency', ...allowed].includes(k)) throw bad(`${k} does not apply to type=${type}`, `drop ${k}`);
  };
  if (type === 'bind') {
    only(['source', 'readonly', 'bind-propagation']);
    const source = fields.get('source');
    if (!source) throw bad('a bind needs a source', 'add source=/host/path');
    return bindMount(spec, source, target, readOnly, cwd);
  }
  if (type === 'volume') {
    only(['source', 'readonly', 'volume-nocopy']);
    const name = fields.get('source');
    if (!name) {
      only(['readonly']);
      return anonymousVolume(containerPath(spec, target), readOnly);
    }
    if (!isVolumeName(name)) throw bad(`${JSON.stringify(name)} is not a volume name`, 'names match [a-zA-Z0-9][a-zA-Z0-9_.-]*; for a host path use type=bind');
    const nocopy = fields.get('volume-nocopy');
    return { type: 'volume', name, source: '', target: containerPath(spec, target), readOnly, ...(nocopy !== undefined && nocopy !== 'false' && nocopy !== '0' ? { noCopy: true } : {}) };
  }
  if (type === 'tmpfs') {
    only(['tmpfs-size', 'tmpfs-mode', 'readonly']);
    const size = fields.get('tmpfs-size');
    const mode = fields.get('tmpfs-mode');
    const options = [size !== undefined ? `size=${size}` : '', mode !== undefined ? `mode=${mode}` : '', readOnly ? 'ro' : ''].filter(Boolean).join(',');
    return parseTmpfs(options ? `${target}:${options}` : target);
  }
  throw bad(`type=${type} is not supported`, 'use type=bind, type=volume or type=tmpfs');
}

/** `--tmpfs CTR[:size=…,mode=…]`. */
export function parseTmpfs(spec: string): Mount {
  const colon = spec.indexOf(':');
  const path = colon < 0 ? spec : spec.slice(0, colon);
  const options = colon < 0 ? '' : spec.slice(colon + 1);
  for (const o of options.split(',').filter(Boolean)) {
    const [key, value] = o.split('=') as [string, string | undefined];
    const ok = (key === 'size' && value !== undefined && /^\d+[kmg%]?$/i.test(value)) || (key === 'mode' && value !== undefined && /^[0-7]{3,4}$/.test(value)) || ['ro', 'rw', 'noexec', 'exec', 'nosuid', 'nodev'].includes(o);
    if (!ok) throw new NsboxError('INVALID_ARGUMENT', `invalid tmpfs option ${JSON.stringify(o)} in ${JSON.stringify(spec)}`, 'use size=N[k|m|g], mode=OCTAL, ro, noexec');
  }
  return { type: 'tmpfs', target: containerPath(spec, path), options: options || 'mode=1777' };
}

/** Two mounts on one path: docker refuses that too. */
export function checkMountTargets(mounts: Mount[]): void {
  const seen = new Set<string>();
  for (const m of mounts) {
    if (seen.has(m.target)) throw new NsboxError('INVALID_ARGUMENT', `two mounts on ${m.target}`, 'give each mount its own container path');
    seen.add(m.target);
  }
}
