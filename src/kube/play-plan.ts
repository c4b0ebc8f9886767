// A manifest (the objects of one or more YAML streams) as what `kube play`
// makes: pods (from Pods and Deployments of one replica), the named volumes
// of PersistentVolumeClaims, with the ConfigMaps and Secrets read into the
// pods' environments and files.
import { kubeError, Reader, type Obj } from './fields.js';
import type { KubeObject } from './documents.js';
import type { KubePlay } from './model.js';
import { readPodSpec } from './pod.js';

export interface PlayInput {
  objects: KubeObject[];
  /** --configmap FILE: ConfigMaps (and Secrets) kept outside the manifest. */
  extra?: KubeObject[];
  publish?: string[];
  /** The pod's address as its containers see it (fieldRef status.podIP). */
  podIP?: string;
}

const KINDS: Record<string, string> = { Pod: 'v1', ConfigMap: 'v1', Secret: 'v1', PersistentVolumeClaim: 'v1', Deployment: 'apps/v1' };

function decode(o: KubeObject, r: Reader, key: string, base64: boolean, into: Record<string, Buffer>): void {
  for (const [k, v] of Object.entries(r.stringMap(key))) {
    if (base64 && !/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s+/g, ''))) throw kubeError(`${o.where}: ${o.kind} ${o.name}: ${key}.${k}`, 'is not base64', `encode it (base64 -w0), or put it in ${o.kind === 'Secret' ? 'stringData' : 'data'}`);
    into[k] = base64 ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8');
  }
}

export function buildPlay(input: PlayInput): KubePlay {
  const warnings: string[] = [];
  const configMaps = new Map<string, Record<string, Buffer>>();
  const secrets = new Map<string, Record<string, Buffer>>();
  const volumes: string[] = [];
  const podSpecs: { name: string; spec: Reader; where: string }[] = [];
  for (const o of [...(input.extra ?? []), ...input.objects]) {
    const warn = (m: string) => warnings.push(`${o.kind} ${o.name}: ${m}`);
    const want = KINDS[o.kind];
    if (!want) {
      warnings.push(`${o.where}: kind ${o.kind} (${o.name}) is not supported and is skipped`);
      continue;
    }
    if (o.apiVersion !== want) throw kubeError(`${o.where}: ${o.kind} ${o.name}`, `apiVersion ${o.apiVersion} is not ${want}`, `write apiVersion: ${want}`);
    const r = new Reader('', o.doc, warn);
    r.accept('kind', 'apiVersion', 'status');
    const meta = r.obj('metadata');
    meta.accept('name', 'namespace', 'labels', 'annotations', 'uid', 'resourceVersion', 'creationTimestamp', 'generation', 'managedFields', 'ownerReferences', 'finalizers', 'generateName', 'selfLink');
    meta.done();
    if (o.kind === 'ConfigMap' || o.kind === 'Secret') {
      const data: Record<string, Buffer> = {};
      decode(o, r, 'data', o.kind === 'Secret', data);
      decode(o, r, o.kind === 'Secret' ? 'stringData' : 'binaryData', o.kind === 'ConfigMap', data);
      r.accept('type', 'immutable');
      (o.kind === 'ConfigMap' ? configMaps : secrets).set(o.name, data);
    } else if (o.kind === 'PersistentVolumeClaim') {
      r.accept('spec'); // size, access modes and class have no meaning for a directory
      volumes.push(o.name);
    } else if (o.kind === 'Pod') {
      podSpecs.push({ name: o.name, spec: r.obj('spec'), where: o.where });
    } else {
      const spec = r.obj('spec');
      const replicas = spec.int('replicas') ?? 1;
      if (replicas !== 1) throw kubeError(`${o.where}: Deployment ${o.name}: spec.replicas`, `${replicas} replicas: nsbox runs one pod per name`, 'set replicas: 1 (or run it on a cluster)');
      spec.accept('selector', 'strategy', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'minReadySeconds', 'paused');
      const template = spec.obj('template');
      template.obj('metadata').accept('labels', 'annotations', 'name');
      template.accept('metadata');
      podSpecs.push({ name: o.name, spec: template.obj('spec'), where: o.where });
      template.done();
      spec.done();
    }
    r.done();
  }
  const asText = (m: Map<string, Record<string, Buffer>>) => new Map([...m].map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([kk, b]) => [kk, b.toString('utf8')]))]));
  const env = { configMaps: asText(configMaps), secrets: asText(secrets), podIP: input.podIP ?? '127.0.0.1' };
  if (input.publish?.length && podSpecs.length > 1) throw kubeError('--publish', `the file has ${podSpecs.length} pods, so it is not clear which one publishes`, 'give hostPort in the container\'s ports instead');
  const names = new Set<string>();
  const pods = podSpecs.map(({ name, spec, where }) => {
    if (names.has(name)) throw kubeError(where, `a second pod named ${name}`, 'give each Pod and Deployment its own name');
    names.add(name);
    return readPodSpec({ name, spec, env, data: { configMaps, secrets }, publish: input.publish ?? [] });
  });
  if (!pods.length && !volumes.length) throw kubeError(input.objects[0]?.where ?? 'the file', 'it has no Pod, Deployment or PersistentVolumeClaim', 'add a Pod or a Deployment');
  return { pods, volumes, warnings };
}

export type { Obj };
