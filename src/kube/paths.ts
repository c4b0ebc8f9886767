// Paths inside a volume that a manifest gives (subPath, configMap and
// secret items): relative, without `..`, as the Kubernetes API requires, so
// they cannot name anything outside the volume. What a link inside the
// volume points at is checked where the files are (api/kube-volumes.ts).
import { kubeError } from './fields.js';

export function relativeInside(path: string, where: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (path.startsWith('/')) throw kubeError(where, `${JSON.stringify(path)} is absolute`, 'give a path relative to the volume');
  if (parts.includes('..')) throw kubeError(where, `${JSON.stringify(path)} leads out of the volume (..)`, 'give a path inside the volume, without ..');
  if (!parts.length) throw kubeError(where, `${JSON.stringify(path)} names no file`, 'give a path inside the volume');
  if (path.includes('\0')) throw kubeError(where, 'contains a NUL byte', 'give a plain path');
  return parts.join('/');
}

/** A container path (mountPath): absolute, normalised, and not the root itself. */
export function mountPathOf(path: string, where: string): string {
  if (!path.startsWith('/')) throw kubeError(where, `${JSON.stringify(path)} is not absolute`, 'give the path inside the container from /');
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  if (!parts.length) throw kubeError(where, 'would cover the container\'s whole root', 'mount it on a directory inside, e.g. /data');
  if (path.includes(':')) throw kubeError(where, `${JSON.stringify(path)} contains ":"`, 'use a path without ":"');
  return '/' + parts.join('/');
}
