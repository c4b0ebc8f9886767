// Manifests shaped like the Kubernetes documentation's examples, not
// written for nsbox (only the images are the local busybox): they play, or
// fail naming the one field that blocks them. And the repository's blog
// pod YAML: valid for a cluster, with nginx's configuration verbatim.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { repoRoot, testMode } from './helpers/env.js';
import { useKubeRoot, containerView } from './helpers/kube.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { freePort } from './helpers/net.js';
import { nsbox, nsboxAsync, waitFor } from './helpers/nsbox.js';
import { planKube } from '../dist/index.js';

const kube = useKubeRoot('e');
const cli = (...args: string[]) => nsbox(kube.root, args);
const file = (text: string) => kube.manifest(text);
const ctr = (ref: string) => containerView(kube.root, ref);

describe(`Kubernetes documentation examples (${testMode})`, () => {
  it('an init container writes into an emptyDir that the main container serves', async () => {
    const port = await freePort();
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', file(`apiVersion: v1
kind: Pod
metadata:
  name: init-demo
spec:
  containers:
  - name: web
    image: busybox
    command: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
    ports:
    - containerPort: 80
      hostPort: ${port}
    volumeMounts:
    - name: workdir
      mountPath: /usr/share/nginx/html
  # These containers are run during pod initialization
  initContainers:
  - name: install
    image: busybox
    command:
    - sh
    - -c
    - 'echo "<html>installed by the init container</html>" > /work-dir/index.html'
    volumeMounts:
    - name: workdir
      mountPath: "/work-dir"
  dnsPolicy: Default
  volumes:
  - name: workdir
    emptyDir: {}
`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/spec\.dnsPolicy is not supported and is ignored/);
    let body = '';
    for (let i = 0; i < 100 && !body; i++) body = await fetch(`http://127.0.0.1:${port}/`).then((res) => res.text()).catch(() => new Promise<string>((res) => setTimeout(() => res(''), 30)));
    expect(body).toBe('<html>installed by the init container</html>\n');
  });

  it('a Deployment with a ConfigMap as a volume and as environment variables', async () => {
    const r = cli('kube', 'play', file(`apiVersion: v1
kind: ConfigMap
metadata:
  name: color-config
data:
  color: blue
  settings.properties: |
    mode=dark
    size=xl
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: configmap-demo
  labels:
    app.kubernetes.io/name: configmap-demo
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: configmap-demo
  template:
    metadata:
      labels:
        app.kubernetes.io/name: configmap-demo
    spec:
      volumes:
        - name: config-volume
          configMap:
            name: color-config
      containers:
        - name: alpine
          image: busybox
          command:
            - /bin/sh
            - -c
            - while true; do echo "$(date) The color is $COLOR, $(cat /etc/config/settings.properties | tr '\\n' ' ')"; sleep 10; done;
          ports:
            - containerPort: 80
          env:
            - name: COLOR
              valueFrom:
                configMapKeyRef:
                  name: color-config
                  key: color
          volumeMounts:
            - name: config-volume
              mountPath: /etc/config
`));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    await waitFor(() => cli('logs', 'configmap-demo/alpine').stdout.includes('The color is'), 5000, 'its first line');
    expect(cli('logs', 'configmap-demo/alpine').stdout).toMatch(/The color is blue, mode=dark size=xl/);
    expect(cli('exec', '--join', 'alpine', 'configmap-demo', '--', 'ls', '/etc/config').stdout).toBe('color\nsettings.properties\n');
  });

  it('a Pod with liveness and readiness probes: ready, then restarted once its liveness fails', async () => {
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', file(`apiVersion: v1
kind: Pod
metadata:
  labels:
    test: liveness
  name: liveness-exec
spec:
  containers:
  - name: liveness
    image: busybox
    args:
    - /bin/sh
    - -c
    - touch /tmp/healthy; httpd -p 8080 -h /srv; sleep 3; rm -f /tmp/healthy; sleep 600
    readinessProbe:
      httpGet:
        path: /hello.txt
        port: 8080
      initialDelaySeconds: 1
      periodSeconds: 1
    livenessProbe:
      exec:
        command:
        - cat
        - /tmp/healthy
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 1
`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(ctr('liveness-exec/liveness')?.restartCount).toBe(0);
    await waitFor(() => (ctr('liveness-exec/liveness')?.restartCount ?? 0) >= 1, 20_000, 'the restart after the liveness probe failed');
  });

  it('a sidecar (an init container with restartPolicy Always) serves the init containers after it and the app, and is restarted always; kube generate keeps it a sidecar', async () => {
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', file(`apiVersion: v1
kind: Pod
metadata:
  name: sidecar-demo
spec:
  restartPolicy: Never
  initContainers:
  - name: server
    image: busybox
    restartPolicy: Always
    command: [sh, -c, 'mkdir -p /www && echo from the sidecar > /www/hello.txt && exec httpd -f -p 8081 -h /www']
    readinessProbe: {tcpSocket: {port: 8081}, periodSeconds: 1}
  - name: fetch
    image: busybox
    command: [sh, -c, 'for i in $(seq 100); do wget -qO /data/page http://127.0.0.1:8081/hello.txt && exit 0; sleep 0.1; done; exit 1']
    volumeMounts: [{name: data, mountPath: /data}]
  containers:
  - name: app
    image: busybox
    command: [sh, -c, 'cat /data/page; exec sleep 600']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - {name: data, emptyDir: {}}
`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    // The init container after the sidecar reached it; the app got what it fetched.
    expect(ctr('sidecar-demo/fetch')?.state).toBe('exited');
    await waitFor(() => cli('logs', 'sidecar-demo/app').stdout === 'from the sidecar\n', 5000, "the app's output");
    expect(ctr('sidecar-demo/server')?.state).toBe('running');
    // It dies: brought back although the pod's policy is Never (the control: the app's policy is Never).
    const [server] = (JSON.parse(cli('ps', '--pod', 'sidecar-demo', '--format', 'json').stdout) as { name: string; process: { pid: number } }[]).filter((c) => c.name === 'server');
    process.kill(server!.process.pid, 'SIGKILL');
    await waitFor(() => ctr('sidecar-demo/server')?.restartCount === 1 && ctr('sidecar-demo/server')?.state === 'running', 10_000, 'the sidecar to be restarted');
    const gen = parseAllDocuments(cli('kube', 'generate', 'sidecar-demo').stdout)[0]!.toJS() as { spec: { initContainers: { name: string; restartPolicy?: string; readinessProbe?: unknown }[]; restartPolicy: string } };
    expect(gen.spec.initContainers.map((c) => [c.name, c.restartPolicy ?? null, !!c.readinessProbe])).toEqual([
      ['server', 'Always', true],
      ['fetch', null, false],
    ]);
    expect(() => new Pod(gen as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow();
    expect(cli('pod', 'rm', '-f', 'sidecar-demo').code).toBe(0);
  });

  it('a manifest with a volume kind nsbox has not: one line naming it, nothing made', () => {
    const r = cli('kube', 'play', file(`apiVersion: v1
kind: Pod
metadata:
  name: nfs-web
spec:
  containers:
  - name: web
    image: busybox
    volumeMounts:
    - name: nfs
      mountPath: /usr/share/nginx/html
  volumes:
  - name: nfs
    nfs:
      server: nfs.example.com
      path: /exports
`));
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/spec\.volumes\[0\]: volume nfs: nfs is not supported: use hostPath, emptyDir, configMap, secret or persistentVolumeClaim/);
    expect(cli('pod', 'exists', 'nfs-web').code).toBe(1);
  });
});

describe('the blog pod as Kubernetes YAML (scripts/blog/blog-pod.yaml)', () => {
  const path = join(repoRoot, 'scripts', 'blog', 'blog-pod.yaml');
  const text = readFileSync(path, 'utf8');

  it('carries scripts/blog/nginx.conf verbatim and validates against the Kubernetes schema', () => {
    const docs = parseAllDocuments(text).map((d) => d.toJS() as { kind: string; data?: Record<string, string> });
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'Pod']);
    new ConfigMap(docs[0] as never).validate();
    new Pod(docs[1] as never).validate();
    expect(docs[0]!.data!['nginx.conf']).toBe(readFileSync(join(repoRoot, 'scripts', 'blog', 'nginx.conf'), 'utf8'));
  });

  it('translates without a warning: nginx with the config read-only on port 8080, Ghost beside it', async () => {
    const plan = await planKube([{ text, source: path }]);
    expect(plan.warnings).toEqual([]);
    const [pod] = plan.pods;
    expect(pod!.publish).toEqual(['8080:80']);
    expect(pod!.containers.map((c) => c.name)).toEqual(['ghost', 'nginx']);
    expect(pod!.containers[1]!.mounts).toEqual([{ kind: 'pod', volume: 'nginx-conf', target: '/etc/nginx/nginx.conf', readOnly: true, subPath: 'nginx.conf' }]);
    expect(pod!.containers[0]!.env).toEqual({ url: 'http://localhost:8080' });
  });
});
