// A container's environment as Kubernetes builds it: envFrom first, then
// env in order (later entries win), each value with $(VAR) of the ones
// before it expanded ($$ is a literal $); command and args get the same
// expansion over the whole environment.
import { kubeError, Reader } from './fields.js';

export interface EnvSources {
  configMaps: Map<string, Record<string, string>>;
  secrets: Map<string, Record<string, string>>;
  podName: string;
  /** The pod's address: nsbox's builtin network has only loopback. */
  podIP: string;
  hostname: string;
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? env[name]! : m;
  });
}

function keyRef(r: Reader, kind: 'configMap' | 'secret', src: EnvSources): string | undefined {
  const name = r.need('name');
  const key = r.need('key');
  const optional = r.bool('optional') ?? false;
  r.done();
  const data = (kind === 'configMap' ? src.configMaps : src.secrets).get(name);
  const Kind = kind === 'configMap' ? 'ConfigMap' : 'Secret';
  if (!data) {
    if (optional) return undefined;
    throw kubeError(r.path, `no ${Kind} named ${name} is given`, `add the ${Kind} to the file, or pass it with --configmap FILE`);
  }
  if (!Object.hasOwn(data, key)) {
    if (optional) return undefined;
    throw kubeError(r.path, `${Kind} ${name} has no key ${JSON.stringify(key)}`, `add ${key} to its data, or mark the reference optional: true`);
  }
  return data[key];
}

function fieldRef(r: Reader, src: EnvSources): string {
  const path = r.need('fieldPath');
  r.str('apiVersion');
  r.done();
  const values: Record<string, string> = { 'metadata.name': src.podName, 'metadata.namespace': 'default', 'status.podIP': src.podIP, 'status.hostIP': src.podIP, 'spec.nodeName': src.hostname };
  if (!Object.hasOwn(values, path)) throw kubeError(r.at('fieldPath'), `${JSON.stringify(path)} is not supported`, `use one of ${Object.keys(values).join(', ')}`);
  return values[path]!;
}

/** A variable whose value came from a ConfigMap or a Secret (kube generate writes it as such again, not as its value). */
export interface EnvRef {
  name: string;
  kind: 'ConfigMap' | 'Secret';
  source: string;
  key: string;
}

/** The environment, and `refs` filled with the variables that came from ConfigMaps and Secrets. */
export function containerEnv(c: Reader, src: EnvSources, refs: EnvRef[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  const setRef = (name: string, ref: Omit<EnvRef, 'name'> | null) => {
    const i = refs.findIndex((r) => r.name === name);
    if (i >= 0) refs.splice(i, 1);
    if (ref) refs.push({ name, ...ref });
  };
  for (const f of c.list('envFrom')) {
    const prefix = f.str('prefix') ?? '';
    const kind = f.has('configMapRef') ? 'configMap' : f.has('secretRef') ? 'secret' : null;
    if (!kind) throw kubeError(f.path, 'has neither configMapRef nor secretRef', 'give one of them');
    const ref = f.obj(kind === 'configMap' ? 'configMapRef' : 'secretRef');
    const name = ref.need('name');
    const optional = ref.bool('optional') ?? false;
    ref.done();
    f.done();
    const data = (kind === 'configMap' ? src.configMaps : src.secrets).get(name);
    if (!data) {
      if (optional) continue;
      throw kubeError(ref.path, `no ${kind === 'configMap' ? 'ConfigMap' : 'Secret'} named ${name} is given`, 'add it to the file, or pass it with --configmap FILE');
    }
    // Kubernetes skips keys that are not valid variable names.
    for (const [k, v] of Object.entries(data))
      if (ENV_NAME.test(prefix + k)) {
        env[prefix + k] = v;
        setRef(prefix + k, { kind: kind === 'configMap' ? 'ConfigMap' : 'Secret', source: name, key: k });
      }
  }
  for (const e of c.list('env')) {
    const name = e.need('name');
    if (!ENV_NAME.test(name)) throw kubeError(e.at('name'), `${JSON.stringify(name)} is not a variable name`, 'use letters, digits, _, - and .');
    let value: string | undefined;
    let ref: Omit<EnvRef, 'name'> | null = null;
    if (e.has('valueFrom')) {
      if (e.has('value')) throw kubeError(e.path, 'gives both value and valueFrom', 'give one of them');
      const vf = e.obj('valueFrom');
      const refOf = (r: Reader, kind: EnvRef['kind']) => {
        value = keyRef(r, kind === 'ConfigMap' ? 'configMap' : 'secret', src);
        ref = { kind, source: r.raw('name') as string, key: r.raw('key') as string };
      };
      if (vf.has('configMapKeyRef')) refOf(vf.obj('configMapKeyRef'), 'ConfigMap');
      else if (vf.has('secretKeyRef')) refOf(vf.obj('secretKeyRef'), 'Secret');
      else if (vf.has('fieldRef')) value = fieldRef(vf.obj('fieldRef'), src);
      else if (vf.has('resourceFieldRef')) throw kubeError(vf.at('resourceFieldRef'), 'is not supported: nsbox sets no resource limits', 'give the value directly');
      else throw kubeError(vf.path, 'has no configMapKeyRef, secretKeyRef or fieldRef', 'give one of them');
      vf.done();
    } else {
      const raw = e.raw('value');
      value = expandVars(raw === undefined ? '' : String(raw), env);
    }
    e.done();
    if (value !== undefined) {
      env[name] = value;
      setRef(name, ref);
    }
  }
  return env;
}
