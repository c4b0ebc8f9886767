// A pod as Kubernetes YAML (`kube generate`): a Pod (or a Deployment of one
// replica), with ConfigMaps for its configMap and secret files, a
// PersistentVolumeClaim per named volume, and with `service` a NodePort
// Service of its published ports. Pure: the caller describes the pod.
import { Document } from 'yaml';
import type { HealthConfig } from '../core/health.js';
import type { PreStopHook } from '../core/pre-stop.js';
import type { Obj } from './fields.js';

export type GenMount =
  | { kind: 'host'; source: string; file: boolean; target: string; readOnly: boolean }
  | { kind: 'volume'; name: string; target: string; readOnly: boolean; subPath?: string }
  | { kind: 'tmpfs'; target: string; readOnly: boolean }
  | { kind: 'pod'; volume: string; target: string; readOnly: boolean; subPath?: string };

export interface GenContainer {
  name: string;
  init: boolean;
  /** An init container kept running (restartPolicy Always). */
  sidecar: boolean;
  image: string;
  /** Imported, not pulled: a cluster cannot pull it by this name. */
  localOnly: boolean;
  /** The argv it runs, and what the image alone would run. */
  argv: string[];
  imageArgv: string[];
  /** What it gets beyond the image's environment. */
  env: [string, string][];
  /** Those of them that came from ConfigMaps and Secrets: written as references to them. */
  envRefs: { name: string; kind: 'ConfigMap' | 'Secret'; source: string; key: string }[];
  workdir: string | null;
  user: { uid: number; gid: number } | null;
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  mounts: GenMount[];
  healthcheck?: HealthConfig;
  preStop?: PreStopHook;
}

export interface GenPod {
  name: string;
  hostname: string;
  restart: 'no' | 'always' | 'on-failure';
  ports: { hostIp: string; hostPort: number; podPort: number; protocol: 'tcp' | 'udp' }[];
  hostAliases: { ip: string; hostnames: string[] }[];
  /** Its containers share its PID namespace (written out: Kubernetes' default is not to). */
  sharePid: boolean;
  containers: GenContainer[];
  /** The pod's own directories: emptyDirs, and configMap/secret files (as a ConfigMap each). */
  podVolumes: { name: string; from?: { kind: 'ConfigMap' | 'Secret'; name: string }; files: { key: string; path: string; content: Buffer; mode: number }[] }[];
}

const RESTART = { always: 'Always', 'on-failure': 'OnFailure', no: 'Never' } as const;
/** Kubernetes expands $(VAR) in command, args and env values: a literal one is written $$(VAR). */
const literal = (s: string) => s.replace(/\$(?=[($])/g, () => '$$');
const seconds = (ms: number, min: number) => Math.max(min, Math.ceil(ms / 1000));

function probeOf(h: HealthConfig): Obj {
  const action = h.probe?.kind === 'http' ? { httpGet: { path: h.probe.path, port: h.probe.port, ...(h.probe.scheme !== 'HTTP' ? { scheme: h.probe.scheme } : {}), ...(Object.keys(h.probe.headers).length ? { httpHeaders: Object.entries(h.probe.headers).map(([name, value]) => ({ name, value })) } : {}) } } : h.probe?.kind === 'tcp' ? { tcpSocket: { port: h.probe.port } } : { exec: { command: h.test } };
  return { ...action, ...(h.startPeriodMs ? { initialDelaySeconds: seconds(h.startPeriodMs, 0) } : {}), periodSeconds: seconds(h.intervalMs, 1), timeoutSeconds: seconds(h.timeoutMs, 1), failureThreshold: h.retries };
}

function envVar(c: GenContainer, name: string, value: string): Obj {
  const ref = c.envRefs.find((r) => r.name === name);
  if (!ref) return { name, value: literal(value) };
  return { name, valueFrom: { [ref.kind === 'Secret' ? 'secretKeyRef' : 'configMapKeyRef']: { name: ref.source, key: ref.key } } };
}

/** A Kubernetes name for a volume made from a mount's path: "/var/lib/data" → "var-lib-data". */
function volumeName(prefix: string, path: string, taken: Set<string>): string {
  const base = `${prefix}-${path.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`.slice(0, 58).replace(/-+$/, '');
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

function containerOf(c: GenContainer, pod: GenPod, volumes: Obj[], claims: Set<string>, taken: Set<string>, byKey: Map<string, string>, first: boolean): Obj {
  const mounts = c.mounts.map((m) => {
    let key: string;
    let make: (name: string) => Obj;
    if (m.kind === 'host') ((key = `host:${m.source}`), (make = (name) => ({ name, hostPath: { path: m.source, type: m.file ? 'File' : 'Directory' } })));
    else if (m.kind === 'volume') ((key = `pvc:${m.name}`), (make = (name) => ({ name, persistentVolumeClaim: { claimName: m.name } })), claims.add(m.name));
    else if (m.kind === 'tmpfs') ((key = `tmpfs:${c.name}:${m.target}`), (make = (name) => ({ name, emptyDir: { medium: 'Memory' } })));
    else {
      const v = pod.podVolumes.find((p) => p.name === m.volume);
      key = `pod:${m.volume}`;
      const items = v?.files.map((f) => ({ key: f.key, path: f.path, mode: f.mode })) ?? [];
      make = (name) =>
        v?.from?.kind === 'Secret' ? { name, secret: { secretName: v.from.name, items } } : v?.from ? { name, configMap: { name: v.from.name, items } } : { name, emptyDir: {} };
    }
    let name = byKey.get(key);
    if (!name) {
      name = m.kind === 'pod' ? m.volume : m.kind === 'volume' ? m.name : volumeName(m.kind === 'tmpfs' ? 'tmpfs' : 'host', m.kind === 'host' ? m.source : m.target, taken);
      taken.add(name);
      byKey.set(key, name);
      volumes.push(make(name));
    }
    return { name, mountPath: m.target, ...(m.readOnly ? { readOnly: true } : {}), ...('subPath' in m && m.subPath ? { subPath: m.subPath } : {}) };
  });
  const same = c.argv.length === c.imageArgv.length && c.argv.every((a, i) => a === c.imageArgv[i]);
  const security: Obj = {
    ...(c.user && (c.user.uid !== 0 || c.user.gid !== 0) ? { runAsUser: c.user.uid, runAsGroup: c.user.gid } : {}),
    ...(c.readOnly ? { readOnlyRootFilesystem: true } : {}),
    ...(c.capAdd.length || c.capDrop.length ? { capabilities: { ...(c.capAdd.length ? { add: c.capAdd } : {}), ...(c.capDrop.length ? { drop: c.capDrop } : {}) } } : {}),
  };
  const ports = first ? pod.ports.map((p) => ({ containerPort: p.podPort, hostPort: p.hostPort, ...(p.hostIp && p.hostIp !== '0.0.0.0' ? { hostIP: p.hostIp } : {}), ...(p.protocol === 'udp' ? { protocol: 'UDP' } : {}) })) : [];
  const h = c.healthcheck;
  return {
    name: c.name,
    image: c.image,
    ...(same ? {} : { command: c.argv.map(literal) }),
    ...(c.workdir ? { workingDir: c.workdir } : {}),
    ...(c.env.length ? { env: c.env.map(([name, value]) => envVar(c, name, value)) } : {}),
    ...(ports.length ? { ports } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...(Object.keys(security).length ? { securityContext: security } : {}),
    ...(c.sidecar ? { restartPolicy: 'Always' } : {}),
    ...(h && (!c.init || c.sidecar) ? { [h.onFailure === 'kill' || h.onFailure === 'restart' || h.onFailure === 'terminate' ? 'livenessProbe' : 'readinessProbe']: probeOf(h) } : {}),
    ...(c.preStop ? { lifecycle: { preStop: 'exec' in c.preStop ? { exec: { command: c.preStop.exec } } : { sleep: { seconds: c.preStop.sleepSeconds } } } } : {}),
  };
}

export function generateKubeYaml(pod: GenPod, opts: { type: 'pod' | 'deployment'; service: boolean }): string {
  const volumes: Obj[] = [];
  const claims = new Set<string>();
  const taken = new Set(pod.podVolumes.map((v) => v.name));
  const byKey = new Map<string, string>();
  const init = pod.containers.filter((c) => c.init).map((c) => containerOf(c, pod, volumes, claims, taken, byKey, false));
  const main = pod.containers.filter((c) => !c.init);
  const containers = main.map((c, i) => containerOf(c, pod, volumes, claims, taken, byKey, i === 0));
  const spec: Obj = {
    ...(pod.hostname !== pod.name ? { hostname: pod.hostname } : {}),
    restartPolicy: RESTART[pod.restart],
    ...(pod.hostAliases.length ? { hostAliases: pod.hostAliases } : {}),
    shareProcessNamespace: pod.sharePid,
    ...(init.length ? { initContainers: init } : {}),
    containers,
    ...(volumes.length ? { volumes } : {}),
  };
  const labels = { app: pod.name };
  const docs: Obj[] = [];
  // One ConfigMap or Secret per name, with the keys its volumes hold (binary data base64, as the API wants it).
  const sources = new Map<string, Obj & { data: Record<string, string> }>();
  const source = (kind: 'ConfigMap' | 'Secret', name: string) => {
    const id = `${kind}/${name}`;
    const doc = sources.get(id) ?? { apiVersion: 'v1', kind, metadata: { name }, data: {} };
    sources.set(id, doc);
    return doc.data;
  };
  for (const v of pod.podVolumes) {
    if (!v.from) continue;
    const data = source(v.from.kind, v.from.name);
    for (const f of v.files) data[f.key] = v.from.kind === 'Secret' ? f.content.toString('base64') : f.content.toString('utf8');
  }
  // The keys the environment takes from them, with the values it got.
  for (const c of pod.containers)
    for (const r of c.envRefs) {
      const value = c.env.find(([k]) => k === r.name)?.[1];
      if (value !== undefined) source(r.kind, r.source)[r.key] = r.kind === 'Secret' ? Buffer.from(value).toString('base64') : value;
    }
  docs.push(...sources.values());
  for (const claim of claims) docs.push({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: claim }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } });
  if (opts.type === 'deployment' && pod.restart !== 'always') spec.restartPolicy = 'Always'; // the only policy a Deployment takes
  docs.push(
    opts.type === 'deployment'
      ? { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: pod.name, labels }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec } } }
      : { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, labels }, spec },
  );
  if (opts.service && pod.ports.length)
    docs.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: pod.name },
      spec: { type: 'NodePort', selector: labels, ports: pod.ports.map((p) => ({ name: `${p.protocol}-${p.podPort}-${p.hostPort}`, port: p.podPort, targetPort: p.podPort, protocol: p.protocol.toUpperCase(), ...(p.hostPort >= 30000 && p.hostPort <= 32767 ? { nodePort: p.hostPort } : {}) })) },
    });
  const local = [...new Set(pod.containers.filter((c) => c.localOnly).map((c) => c.image))];
  const header = local.map((i) => ` ${i} is only in nsbox's local store: push it (\`nsbox push ${i} REGISTRY/${i}\`) and use that name, so the cluster can pull it`).join('\n');
  return docs
    .map((d, i) => {
      const doc = new Document(d);
      if (i === 0 && header) doc.commentBefore = header;
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

