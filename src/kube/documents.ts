// A YAML stream (one file or several, `---` between documents) as the
// Kubernetes objects in it. Read as YAML 1.1, as Kubernetes' own parser
// (go-yaml) reads it: `defaultMode: 0644` is octal, as manifests mean it.
// Duplicate keys are an error.
import { parseAllDocuments } from 'yaml';
import { NsboxError } from '../errors.js';
import { isObj, type Obj } from './fields.js';

export interface KubeObject {
  kind: string;
  apiVersion: string;
  name: string;
  /** Where it came from, for messages: "pod.yaml, document 2". */
  where: string;
  doc: Obj;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function parseKubeYaml(text: string, source: string): KubeObject[] {
  const out: KubeObject[] = [];
  const docs = parseAllDocuments(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    const where = `${source}, document ${i + 1}`;
    const err = d.errors[0];
    if (err) throw new NsboxError('KUBE_INVALID', `${where}: not valid YAML: ${err.message.split('\n')[0]}`, 'fix the YAML (a linter such as yamllint shows where)');
    const doc: unknown = d.toJS({ maxAliasCount: 100 });
    if (doc === null || doc === undefined) return; // an empty document between two ---
    if (isObj(doc) && doc.kind === 'List' && Array.isArray(doc.items)) {
      doc.items.forEach((item, j) => out.push(objectOf(item, `${where}, items[${j}]`)));
      return;
    }
    out.push(objectOf(doc, where));
  });
  if (!out.length) throw new NsboxError('KUBE_INVALID', `${source}: no Kubernetes object in it`, 'give a file with a Pod or a Deployment (kind, apiVersion, metadata.name)');
  return out;
}

function objectOf(doc: unknown, where: string): KubeObject {
  if (!isObj(doc)) throw new NsboxError('KUBE_INVALID', `${where}: not a Kubernetes object (a mapping with kind and apiVersion)`, 'each document needs kind:, apiVersion: and metadata.name');
  const kind = doc.kind;
  const apiVersion = doc.apiVersion;
  if (typeof kind !== 'string' || !kind) throw new NsboxError('KUBE_INVALID', `${where}: it has no kind`, 'add kind: Pod (or Deployment, ConfigMap, Secret, PersistentVolumeClaim)');
  if (typeof apiVersion !== 'string' || !apiVersion) throw new NsboxError('KUBE_INVALID', `${where}: the ${kind} has no apiVersion`, kind === 'Deployment' ? 'add apiVersion: apps/v1' : 'add apiVersion: v1');
  const name = isObj(doc.metadata) ? doc.metadata.name : undefined;
  if (typeof name !== 'string' || !NAME.test(name)) throw new NsboxError('KUBE_INVALID', `${where}: the ${kind} needs metadata.name, a lowercase DNS name${typeof name === 'string' ? `, not ${JSON.stringify(name)}` : ''}`, 'e.g. metadata: {name: web}');
  return { kind, apiVersion, name, where, doc };
}
