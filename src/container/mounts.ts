// What a user shares with a container, as docker and podman take it:
//   -v HOST:CTR[:ro|rw]   a host file or directory bound into the container
//   --tmpfs CTR[:OPTS]    a fresh tmpfs (size=…, mode=…)
// Validated here, on the host; the plan binds them with every container
// path resolved inside the container's root (an image symlink on the path
// is followed inside it, never out to the host).
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, normalize, posix, resolve } from 'node:path';
import { NsboxError } from '../errors.js';

export type Mount =
  | { type: 'bind'; source: string; target: string; readOnly: boolean; kind: 'file' | 'dir' }
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

/** `-v HOST:CTR[:ro|rw]`; `cwd` resolves a host path given as ./ or ../ (a bare relative one is refused, as docker does). */
export function parseVolume(spec: string, cwd: string = process.cwd()): Mount {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) throw invalid(spec, 'it is not HOST:CONTAINER[:ro|rw]', 'e.g. -v /srv/data:/data or -v ./nginx.conf:/etc/nginx/nginx.conf:ro');
  const [host, ctr, mode = 'rw'] = parts as [string, string, string?];
  const flags = mode.split(',').filter(Boolean);
  const unknown = flags.filter((f) => !['ro', 'rw', 'z', 'Z'].includes(f));
  if (unknown.length) throw invalid(spec, `unknown option ${JSON.stringify(unknown[0])}`, 'use ro or rw (z and Z are accepted and change nothing: there is no SELinux labelling here)');
  if (!isAbsolute(host) && !host.startsWith('./') && !host.startsWith('../') && host !== '.' && host !== '..')
    throw invalid(spec, `${JSON.stringify(host)} is neither a host path nor supported`, `give a host path (absolute, or ./${host} for one in this directory); named volumes are not supported yet`);
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
  return { type: 'bind', source, target: containerPath(spec, ctr), readOnly: flags.includes('ro'), kind };
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
