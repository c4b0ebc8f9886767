// `nsbox kube generate`: a pod as YAML that a cluster accepts (each
// document validated against the Kubernetes schema of kubernetes-models),
// and that `kube play` plays again into the same containers, ports and
// mounts: play → generate → down → play of the generated file.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, PersistentVolumeClaim, Pod, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { freePort } from './helpers/net.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { listContainers, inspectPod } from '../dist/index.js';

let root: string;
let hostDir: string;
let port: number;

beforeAll(async () => {
  root = tempRoot();
  importImage(root, 'busybox');
  hostDir = join(root, 'share');
  mkdirSync(hostDir);
  writeFileSync(join(hostDir, 'f.txt'), 'shared\n');
  port = await freePort();
});
afterAll(() => {
  removeAllPods(root);
  const left = nsbox(root, ['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);
  if (left.length) nsbox(root, ['volume', 'rm', '-f', ...left]);
  cleanupRoot(root);
});

const cli = (...args: string[]) => nsbox(root, args);
const file = (name: string, text: string) => {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
};

const MODELS: Record<string, new (d: never) => { validate(): void }> = { Pod, ConfigMap, Secret, PersistentVolumeClaim, Service, Deployment } as never;

/** Every document checked against its kind's schema; throws on the first that fails. */
function validateAll(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((d) => {
    const obj = d.toJS() as { kind: string };
    const Model = MODELS[obj.kind];
    if (!Model) throw new Error(`no schema for kind ${obj.kind}`);
    new Model(obj as never).validate();
    return obj as Record<string, unknown>;
  });
}

const manifest = () => `apiVersion: v1
kind: ConfigMap
metadata: {name: site}
data: {index.html: "<h1>round trip</h1>\\n", MODE: prod}
---
apiVersion: v1
kind: Secret
metadata: {name: keys}
stringData: {token: t0ken}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: rtdata}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: rt}
spec:
  hostname: rthost
  restartPolicy: OnFailure
  hostAliases: [{ip: 10.9.9.9, hostnames: [api.internal]}]
  initContainers:
  - {name: prepare, image: busybox, command: [sh, -c, 'cp /site/index.html /www/'], volumeMounts: [{name: www, mountPath: /www}, {name: site, mountPath: /site}]}
  containers:
  - name: web
    image: busybox
    command: [httpd, -f, -p, '8080', -h, /www]
    env: [{name: MODE, valueFrom: {configMapKeyRef: {name: site, key: MODE}}}, {name: TOKEN, valueFrom: {secretKeyRef: {name: keys, key: token}}}, {name: LIT, value: 'a $$(B) c'}]
    ports: [{containerPort: 8080, hostPort: ${port}, hostIP: 127.0.0.1}]
    readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 2}
    volumeMounts:
    - {name: www, mountPath: /www}
    - {name: share, mountPath: /share, readOnly: true}
    - {name: data, mountPath: /data}
    - {name: data, mountPath: /data-sub, subPath: nested/dir}
    - {name: keys, mountPath: /keys}
    - {name: scratch, mountPath: /scratch}
  - name: worker
    image: busybox
    workingDir: /data
    command: [sleep, '600']
    securityContext: {runAsUser: 33, runAsGroup: 33, readOnlyRootFilesystem: true, capabilities: {add: [NET_RAW], drop: [KILL]}}
    livenessProbe: {exec: {command: ['true']}, periodSeconds: 5, failureThreshold: 4}
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: www, emptyDir: {}}
  - {name: site, configMap: {name: site, items: [{key: index.html, path: index.html}]}}
  - {name: share, hostPath: {path: ${hostDir}, type: Directory}}
  - {name: data, persistentVolumeClaim: {claimName: rtdata}}
  - {name: keys, secret: {secretName: keys, defaultMode: 0440}}
  - {name: scratch, emptyDir: {medium: Memory}}
`;

/** What must survive the round trip: each container's command, env, user, workdir, caps, probes, and its mounts (pod paths made relative). */
function shape(pod: string) {
  const podDir = join(root, 'pods', inspectPod(pod, { root }).Id);
  return listContainers(root, pod).map((c) => ({
    name: c.name,
    argv: c.argv,
    env: c.env.filter((e) => /^(MODE|TOKEN|LIT)=/.test(e)).sort(),
    user: c.user,
    workdir: c.workdir,
    readOnly: c.readOnly,
    restart: c.restart,
    capabilities: [...(c.capabilities ?? [])].sort(),
    health: c.healthcheck ? { ...c.healthcheck } : null,
    mounts: (c.mounts ?? [])
      .map((m) => ({ ...m, ...('source' in m ? { source: m.source.replace(podDir, 'POD') } : {}) }))
      .sort((a, b) => a.target.localeCompare(b.target)),
  }));
}

describe(`kube generate (${testMode})`, () => {
  it('writes YAML every document of which validates against the Kubernetes schema (a broken one does not: the control)', () => {
    const played = cli('kube', 'play', file('rt.yaml', manifest()));
    expect(played.code, played.stderr).toBe(0);
    const out = cli('kube', 'generate', '--service', 'rt');
    expect(out.code, out.stderr).toBe(0);
    const docs = validateAll(out.stdout);
    expect(docs.map((d) => `${d.kind}/${(d.metadata as { name: string }).name}`)).toEqual(['ConfigMap/site', 'Secret/keys', 'PersistentVolumeClaim/rtdata', 'Pod/rt', 'Service/rt']);
    expect(out.stdout).toMatch(/^# busybox:latest is only in nsbox's local store: push it \(`nsbox push busybox:latest REGISTRY\/busybox:latest`\)/);
    const podDoc = docs[3] as { spec: { containers: { ports?: unknown[] }[]; initContainers: { name: string }[]; restartPolicy: string; hostname: string; hostAliases: unknown[] } };
    expect(podDoc.spec.initContainers.map((c) => c.name)).toEqual(['prepare']);
    expect(podDoc.spec).toMatchObject({ restartPolicy: 'OnFailure', hostname: 'rthost', hostAliases: [{ ip: '10.9.9.9', hostnames: ['api.internal'] }] });
    expect(podDoc.spec.containers[0]!.ports).toEqual([{ containerPort: 8080, hostPort: port, hostIP: '127.0.0.1' }]);
    // Variables from ConfigMaps and Secrets stay references: the secret's value is in the Secret (base64), not in the Pod.
    expect((podDoc.spec.containers[0] as unknown as { env: unknown[] }).env).toEqual([
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'site', key: 'MODE' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'keys', key: 'token' } } },
      { name: 'LIT', value: 'a $$(B) c' },
    ]);
    expect(out.stdout).not.toContain('t0ken');
    expect((docs[1] as { data: Record<string, string> }).data.token).toBe(Buffer.from('t0ken').toString('base64'));
    expect((docs[0] as { data: Record<string, string> }).data.MODE).toBe('prod');
    const svc = docs[4] as { spec: { type: string; ports: { port: number }[] } };
    expect(svc.spec.type).toBe('NodePort');
    expect(svc.spec.ports[0]!.port).toBe(8080);
    const deployment = cli('kube', 'generate', '--type', 'deployment', 'rt');
    const dep = validateAll(deployment.stdout).find((d) => d.kind === 'Deployment') as { spec: { replicas: number; template: { spec: { restartPolicy: string } } } };
    expect(dep.spec.replicas).toBe(1);
    expect(dep.spec.template.spec.restartPolicy).toBe('Always');
    // The control: the validator refuses a Pod the API server would refuse.
    const broken = out.stdout.replace(`containerPort: 8080`, 'containerPort: eighty');
    expect(() => validateAll(broken)).toThrow(/containerPort must be integer/);
    expect(isOneLineRefusal(cli('kube', 'generate', 'no-such-pod'))).toBe(true);
  });

  it('round trip: play → generate → down → play of the generated file gives the same containers, ports and mounts', async () => {
    const before = shape('rt');
    const ports = cli('port', 'rt').stdout;
    const generated = file('generated.yaml', cli('kube', 'generate', 'rt').stdout);
    const down = cli('kube', 'down', file('rt-again.yaml', manifest()));
    expect(down.code, down.stderr).toBe(0);
    expect(cli('pod', 'exists', 'rt').code).toBe(1);
    const again = cli('kube', 'play', '--wait', generated);
    expect(again.code, again.stderr).toBe(0);
    // kube play warns about every field it does not read: the generated file has none.
    expect(again.stderr).toBe('');
    expect(shape('rt')).toEqual(before);
    expect(cli('port', 'rt').stdout).toBe(ports);
    const page = await fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text());
    expect(page).toBe('<h1>round trip</h1>\n');
    expect(cli('exec', '--join', 'web', 'rt', '--', 'sh', '-c', 'echo "$LIT $TOKEN"; cat /keys/token; stat -c %a /keys/token; grep api.internal /etc/hosts; hostname').stdout).toBe('a $(B) c t0ken\nt0ken440\n10.9.9.9\tapi.internal\nrthost\n');
    expect(cli('kube', 'down', generated).code).toBe(0);
  });
});
