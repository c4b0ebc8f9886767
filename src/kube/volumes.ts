// A pod's `volumes` as what nsbox mounts: hostPath binds, emptyDir and
// configMap/secret directories of the pod, persistentVolumeClaims as named
// volumes. Files of configMaps and secrets are computed here (items, modes).
import { kubeError, Reader } from './fields.js';
import { relativeInside } from './paths.js';
import type { KubeFile } from './model.js';

export type VolumeSource =
  | { kind: 'host'; path: string; type: string }
  | { kind: 'emptyDir'; memory: boolean }
  | { kind: 'files'; files: KubeFile[]; from: { kind: 'ConfigMap' | 'Secret'; name: string } }
  | { kind: 'claim'; claim: string; readOnly: boolean };

const HOST_TYPES = ['', 'Directory', 'DirectoryOrCreate', 'File', 'FileOrCreate', 'Socket'];

export interface DataSources {
  configMaps: Map<string, Record<string, Buffer>>;
  secrets: Map<string, Record<string, Buffer>>;
}

function modeOf(r: Reader, key: string): number | undefined {
  const m = r.int(key);
  if (m !== undefined && m > 0o777) throw kubeError(r.at(key), `${m} is not a file mode (0 to 0777, as a number: 0644 or 420)`, 'give a mode such as 0644');
  return m;
}

function filesOf(r: Reader, data: Record<string, Buffer> | undefined, what: string): KubeFile[] {
  const defaultMode = modeOf(r, 'defaultMode') ?? 0o644;
  const optional = r.bool('optional') ?? false;
  const items = r.list('items');
  if (!data) {
    if (optional) return [];
    throw kubeError(r.path, `no ${what} is given`, `add the ${what} to the file, or pass it with --configmap FILE`);
  }
  if (!items.length) return Object.entries(data).map(([key, content]) => ({ key, path: relativeInside(key, `${r.path} key ${key}`), content, mode: defaultMode }));
  return items.map((it) => {
    const key = it.need('key');
    const path = relativeInside(it.need('path'), it.at('path'));
    const mode = modeOf(it, 'mode') ?? defaultMode;
    it.done();
    const content = data[key];
    if (content === undefined) throw kubeError(it.at('key'), `${what} has no key ${JSON.stringify(key)}`, 'name one of its keys');
    return { key, path, content, mode };
  });
}

export function readVolume(v: Reader, src: DataSources): { name: string; source: VolumeSource } {
  const name = v.need('name');
  const kinds = ['hostPath', 'emptyDir', 'configMap', 'secret', 'persistentVolumeClaim'];
  const given = v.keys().filter((k) => k !== 'name');
  const kind = kinds.find((k) => v.has(k));
  if (!kind) throw kubeError(v.path, `volume ${name}: ${given.length ? `${given[0]} is not supported` : 'has no source'}`, 'use hostPath, emptyDir, configMap, secret or persistentVolumeClaim');
  const s = v.obj(kind);
  let source: VolumeSource;
  if (kind === 'hostPath') {
    const path = s.need('path');
    if (!path.startsWith('/')) throw kubeError(s.at('path'), `${JSON.stringify(path)} is not absolute`, 'give the host path from /');
    const type = s.str('type') ?? '';
    if (!HOST_TYPES.includes(type)) throw kubeError(s.at('type'), `${JSON.stringify(type)} is not supported`, `use one of ${HOST_TYPES.filter(Boolean).join(', ')}`);
    source = { kind: 'host', path, type };
  } else if (kind === 'emptyDir') {
    const medium = s.str('medium') ?? '';
    if (medium !== '' && medium !== 'Memory') throw kubeError(s.at('medium'), `${JSON.stringify(medium)} is not supported`, 'use Memory, or leave it out');
    s.ignore('sizeLimit', 'nsbox does not bound volumes');
    source = { kind: 'emptyDir', memory: medium === 'Memory' };
  } else if (kind === 'configMap') {
    const cm = s.need('name');
    source = { kind: 'files', files: filesOf(s, src.configMaps.get(cm), `ConfigMap ${cm}`), from: { kind: 'ConfigMap', name: cm } };
  } else if (kind === 'secret') {
    const sec = s.need('secretName');
    source = { kind: 'files', files: filesOf(s, src.secrets.get(sec), `Secret ${sec}`), from: { kind: 'Secret', name: sec } };
  } else {
    source = { kind: 'claim', claim: s.need('claimName'), readOnly: s.bool('readOnly') ?? false };
  }
  s.done();
  v.done();
  return { name, source };
}
