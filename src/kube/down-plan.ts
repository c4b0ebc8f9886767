// What `kube down` removes: the pods a manifest names (Pods, Deployments)
// and the named volumes of its PersistentVolumeClaims and claims. Only the
// names are read, so a file that play would refuse now (a ConfigMap given
// to play with --configmap, a field changed since) still comes down.
import { isObj, type Obj } from './fields.js';
import type { KubeObject } from './documents.js';

export interface DownPlan {
  pods: { name: string; graceSeconds: number }[];
  volumes: string[];
}

function podSpecOf(o: KubeObject): Obj | null {
  const spec = o.doc.spec;
  if (!isObj(spec)) return null;
  if (o.kind === 'Pod') return spec;
  const template = spec.template;
  return isObj(template) && isObj(template.spec) ? template.spec : null;
}

export function buildDown(objects: KubeObject[]): DownPlan {
  const pods: DownPlan['pods'] = [];
  const volumes = new Set<string>();
  for (const o of objects) {
    if (o.kind === 'PersistentVolumeClaim') volumes.add(o.name);
    if (o.kind !== 'Pod' && o.kind !== 'Deployment') continue;
    const spec = podSpecOf(o);
    const grace = spec?.terminationGracePeriodSeconds;
    pods.push({ name: o.name, graceSeconds: typeof grace === 'number' && grace >= 0 ? grace : 30 });
    for (const v of Array.isArray(spec?.volumes) ? spec.volumes : []) {
      const claim = isObj(v) && isObj(v.persistentVolumeClaim) ? v.persistentVolumeClaim.claimName : undefined;
      if (typeof claim === 'string') volumes.add(claim);
    }
  }
  return { pods, volumes: [...volumes] };
}
