// `nsbox kube play` of real Kubernetes YAML: Pods and Deployments run as
// nsbox pods (POD/CONTAINER), init containers to completion in order, env
// from values, ConfigMaps, Secrets and the pod's fields, every volume kind,
// hostPorts published, securityContext, restart policies, and the refusals:
// a field whose being ignored would change what runs, and every path that
// would lead out of its volume. A failing play leaves nothing behind.
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { useKubeRoot, podYaml, containerView } from './helpers/kube.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { freePort } from './helpers/net.js';
import { nsbox, nsboxAsync, podDirs, waitFor } from './helpers/nsbox.js';

const kube = useKubeRoot('m', (r) => {
  const left = nsbox(r, ['volume', 'ls', '-q']).stdout.split('\n').filter(Boolean);
  if (left.length) nsbox(r, ['volume', 'rm', '-f', ...left]);
});

const cli = (...args: string[]) => nsbox(kube.root, args);
const manifest = (text: string) => kube.manifest(text);
const play = (text: string, ...flags: string[]) => cli('kube', 'play', ...flags, manifest(text));
const inCtr = (ref: string, script: string) => {
  const [pod, ctr] = ref.split('/') as [string, string];
  return cli('exec', '--join', ctr, pod, '--', 'sh', '-c', script);
};
const podNames = () => (JSON.parse(cli('pod', 'ls', '--format', 'json').stdout) as { name: string }[]).map((p) => p.name).sort();
const volumes = () => cli('volume', 'ls', '-q').stdout.split('\n').filter(Boolean).sort();
const ctr = (ref: string) => containerView(kube.root, ref);
const pod = podYaml;

// Refusals run the CLI without blocking this worker: a long row of spawnSync
// calls on a loaded machine starves vitest's RPC to the worker.
const cliAsync = (...args: string[]) => nsboxAsync(kube.root, args);
const podNamesAsync = async () => (JSON.parse((await cliAsync('pod', 'ls', '--format', 'json')).stdout) as { name: string }[]).map((p) => p.name).sort();
const volumesAsync = async () => (await cliAsync('volume', 'ls', '-q')).stdout.split('\n').filter(Boolean).sort();
const playAsync = (text: string, ...flags: string[]) => cliAsync('kube', 'play', ...flags, manifest(text));

/** Every refusal: one line, exit 125, naming `what`, and no pod or volume left of those it made. */
async function expectRefused(run: () => Promise<{ code: number; stderr: string }>, what: RegExp): Promise<void> {
  const podsBefore = await podNamesAsync();
  const volumesBefore = await volumesAsync();
  const r = await run();
  expect(isOneLineRefusal(r), r.stderr).toBe(true);
  expect(r.stderr).toMatch(what);
  expect(await podNamesAsync()).toEqual(podsBefore);
  expect(await volumesAsync()).toEqual(volumesBefore);
}

describe(`kube play (${testMode})`, () => {
  it('runs a Pod: containers as POD/NAME, hostname, hostAliases, env (value, ConfigMap, Secret, fieldRef, envFrom, $(VAR)), command/args/workingDir', () => {
    const r = play(`apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {GREETING: hello, LEVEL: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: ${Buffer.from('s3cret').toString('base64')}}
---
${pod('envpod', `hostname: inside
hostAliases:
- {ip: 10.1.2.3, hostnames: [db.local, db]}
containers:
- name: app
  image: busybox
  command: [sh, -c]
  args: ['echo "args saw $(GREETING)"; sleep 600']
  workingDir: /srv/app
  envFrom:
  - {configMapRef: {name: settings}, prefix: CFG_}
  env:
  - {name: PLAIN, value: plain}
  - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: GREETING}}}
  - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
  - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
  - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
  - {name: BOTH, value: '$(PLAIN)-$(POD) $$(PLAIN)'}
  - {name: MISSING, valueFrom: {configMapKeyRef: {name: settings, key: nope, optional: true}}}
- name: side
  image: busybox
  command: [sleep, '600']`)}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Pod: envpod [0-9a-f]{64}\nContainer: envpod\/app\nContainer: envpod\/side\n$/);
    expect(ctr('envpod/app')?.state).toBe('running');
    expect(ctr('envpod/side')?.state).toBe('running');
    const env = inCtr('envpod/app', 'echo "$PLAIN|$GREETING|$PASS|$POD|$IP|$BOTH|$CFG_GREETING|$CFG_LEVEL|${MISSING-unset}"; hostname; pwd');
    expect(env.stdout).toBe('plain|hello|s3cret|envpod|127.0.0.1|plain-envpod $(PLAIN)|hello|debug|unset\ninside\n/srv/app\n');
    expect(inCtr('envpod/side', 'grep db.local /etc/hosts').stdout).toBe('10.1.2.3\tdb.local db\n');
    expect(cli('logs', 'envpod/app').stdout).toBe('args saw hello\n');
  });

  it('runs init containers to completion, in order, before the containers; a failing one fails the play and leaves nothing', async () => {
    const r = play(pod('initpod', `initContainers:
- {name: first, image: busybox, command: [sh, -c, 'sleep 0.3; echo first >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}
- {name: second, image: busybox, command: [sh, -c, 'echo second >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}
containers:
- {name: main, image: busybox, command: [sh, -c, 'cat /work/order; sleep 600'], volumeMounts: [{name: work, mountPath: /work}]}
volumes:
- {name: work, emptyDir: {}}`));
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => cli('logs', 'initpod/main').stdout !== '', 5000, 'the main container\'s output');
    expect(cli('logs', 'initpod/main').stdout).toBe('first\nsecond\n');
    const [first, second, main] = ['first', 'second', 'main'].map((c) => ctr(`initpod/${c}`)!);
    expect(first.state).toBe('exited');
    expect(first.exitCode).toBe(0);
    expect(Date.parse(first.finishedAt!)).toBeLessThanOrEqual(Date.parse(second.startedAt));
    expect(Date.parse(second.finishedAt!)).toBeLessThanOrEqual(Date.parse(main.startedAt));

    await expectRefused(() => playAsync(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: initclaim}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
${pod('initfails', `initContainers:
- {name: breaks, image: busybox, command: [sh, -c, 'echo cannot migrate; exit 3']}
containers:
- {name: never, image: busybox, command: [sleep, '600'], volumeMounts: [{name: data, mountPath: /data}]}
volumes:
- {name: data, persistentVolumeClaim: {claimName: initclaim}}`)}`),
    /init container breaks exited with code 3.*cannot migrate/);
    expect(volumes()).not.toContain('initclaim');
  }, 120_000);

  it('mounts hostPath (type checked, readOnly), emptyDir (Memory: a tmpfs), configMap and secret files (items, defaultMode), subPath, and a PVC as a named volume', () => {
    const host = join(kube.root, 'hostdir');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, 'from-host.txt'), 'host file\n');
    mkdirSync(join(host, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(host, 'sub', 'deeper', 'x.txt'), 'deep\n');
    const made = join(kube.root, 'made-by-play');
    const r = play(`apiVersion: v1
kind: ConfigMap
metadata: {name: site}
data:
  nginx.conf: "worker_processes 1;\\n"
  index.html: "<h1>hi</h1>\\n"
---
apiVersion: v1
kind: Secret
metadata: {name: tls}
stringData: {key.pem: "PRIVATE\\n"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pgdata}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
${pod('volpod', `containers:
- name: c
  image: busybox
  command: [sh, -c, 'echo kept > /data/kept.txt; sleep 600']
  volumeMounts:
  - {name: host, mountPath: /host, readOnly: true}
  - {name: host, mountPath: /deep, subPath: sub/deeper}
  - {name: made, mountPath: /made}
  - {name: mem, mountPath: /mem}
  - {name: site, mountPath: /etc/nginx/nginx.conf, subPath: nginx.conf}
  - {name: pages, mountPath: /srv/www}
  - {name: tls, mountPath: /tls}
  - {name: data, mountPath: /data}
volumes:
- {name: host, hostPath: {path: ${host}, type: Directory}}
- {name: made, hostPath: {path: ${made}, type: DirectoryOrCreate}}
- {name: mem, emptyDir: {medium: Memory}}
- {name: site, configMap: {name: site}}
- {name: pages, configMap: {name: site, items: [{key: index.html, path: html/index.html, mode: 0600}]}}
- {name: tls, secret: {secretName: tls, defaultMode: 0400}}
- {name: data, persistentVolumeClaim: {claimName: pgdata}}`)}`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Volume: pgdata\n/);
    expect(statSync(made).isDirectory()).toBe(true);
    const c = (s: string) => inCtr('volpod/c', s);
    expect(c('cat /host/from-host.txt /deep/x.txt').stdout).toBe('host file\ndeep\n');
    // readOnly: refused there (the negative check), while the writable hostPath takes the write (its control).
    expect(c('echo no > /host/new.txt').code).not.toBe(0);
    expect(existsSync(join(host, 'new.txt'))).toBe(false);
    expect(c('echo yes > /made/new.txt').code).toBe(0);
    expect(readFileSync(join(made, 'new.txt'), 'utf8')).toBe('yes\n');
    expect(c('grep " /mem " /proc/mounts').stdout).toMatch(/^tmpfs \/mem tmpfs /);
    expect(c('cat /etc/nginx/nginx.conf; ls /etc/nginx').stdout).toBe('worker_processes 1;\nnginx.conf\n');
    expect(c('ls /srv/www; stat -c %a /srv/www/html/index.html; cat /srv/www/html/index.html').stdout).toBe('html\n600\n<h1>hi</h1>\n');
    expect(c('stat -c %a /tls/key.pem; cat /tls/key.pem').stdout).toBe('400\nPRIVATE\n');
    // configMap and secret volumes are read-only, as Kubernetes mounts them.
    expect(c('echo x > /tls/key.pem').code).not.toBe(0);
    expect(volumes()).toContain('pgdata');
    expect(c('cat /data/kept.txt').stdout).toBe('kept\n');
    expect(JSON.parse(cli('volume', 'inspect', 'pgdata').stdout)[0].UsedBy).toEqual(['volpod/c']);
  });

  it('refuses every path that leads out of its volume: subPath ../, item path ../, a link planted in the volume; the same paths inside work', async () => {
    const host = join(kube.root, 'escape');
    mkdirSync(join(host, 'real'), { recursive: true });
    writeFileSync(join(host, 'real', 'inside.txt'), 'inside\n');
    symlinkSync('/etc', join(host, 'link'));
    const volumeSpec = (mount: string, volumesExtra = '') => pod('escapes', `containers:
- name: c
  image: busybox
  command: [sleep, '600']
  volumeMounts: [${mount}]
volumes:
- {name: h, hostPath: {path: ${host}}}
- {name: cm, configMap: {name: cm}}${volumesExtra}`);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: A}\n---\n';
    await expectRefused(() => playAsync(cm + volumeSpec('{name: h, mountPath: /x, subPath: ../../x}')), /subPath: "..\/..\/x" leads out of the volume/);
    await expectRefused(() => playAsync(cm + volumeSpec('{name: h, mountPath: /x, subPath: real/../../x}')), /leads out of the volume/);
    await expectRefused(() => playAsync(cm + volumeSpec('{name: h, mountPath: /x, subPath: /etc}')), /subPath: "\/etc" is absolute/);
    await expectRefused(() => playAsync(cm + volumeSpec('{name: h, mountPath: /x, subPath: link}')), /goes through the symbolic link link/);
    await expectRefused(() => playAsync(cm + volumeSpec('{name: i, mountPath: /x}', "\n- {name: i, configMap: {name: cm, items: [{key: a, path: ../x}]}}")), /items\[0\]\.path: "..\/x" leads out of the volume/);
    await expectRefused(() => playAsync(cm + volumeSpec('{name: i, mountPath: /x}', "\n- {name: i, configMap: {name: cm, items: [{key: a, path: /abs}]}}")), /is absolute/);
    // The controls: the same shapes, inside.
    const ok = play(cm + volumeSpec('{name: h, mountPath: /x, subPath: real}, {name: i, mountPath: /i}', "\n- {name: i, configMap: {name: cm, items: [{key: a, path: dir/a.txt}]}}"));
    expect(ok.code, ok.stderr).toBe(0);
    expect(inCtr('escapes/c', 'cat /x/inside.txt /i/dir/a.txt').stdout).toBe('inside\nA');
    expect(inCtr('escapes/c', 'ls /x').stdout).toBe('inside.txt\n');
    expect(cli('kube', 'down', manifest(cm + volumeSpec('{name: h, mountPath: /x}'))).code).toBe(0);
  }, 120_000);

  it('publishes hostPorts (with hostIP) and --publish; the page is served from the host', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const r = play(pod('ports', `containers:
- name: web
  image: busybox
  command: [httpd, -f, -p, '80', -h, /srv]
  ports:
  - {containerPort: 80, hostPort: ${a}, hostIP: 127.0.0.1}
  - {containerPort: 81, name: other}`), '--publish', `127.0.0.1:${b}:80`);
    expect(r.code, r.stderr).toBe(0);
    expect(cli('port', 'ports').stdout).toBe(`80/tcp -> 127.0.0.1:${a}\n80/tcp -> 127.0.0.1:${b}\n`);
    for (const port of [a, b]) {
      let body = '';
      for (let i = 0; i < 100 && !body; i++) body = await fetch(`http://127.0.0.1:${port}/hello.txt`).then((res) => res.text()).catch(() => new Promise<string>((res) => setTimeout(() => res(''), 30)));
      expect(body).toBe('hello from the image\n');
    }
  });

  it('applies securityContext: runAsUser/runAsGroup (pod and container), runAsNonRoot, readOnlyRootFilesystem, capabilities add/drop', async () => {
    const r = play(pod('secpod', `securityContext: {runAsUser: 33, runAsGroup: 33}
containers:
- name: www
  image: busybox
  command: [sleep, '600']
- name: own
  image: busybox
  command: [sleep, '600']
  securityContext:
    runAsUser: 65534
    runAsGroup: 65534
    runAsNonRoot: true
    readOnlyRootFilesystem: true
- name: caps
  image: busybox
  command: [sleep, '600']
  securityContext:
    runAsUser: 0
    capabilities: {add: [NET_ADMIN], drop: [CHOWN]}`));
    expect(r.code, r.stderr).toBe(0);
    expect(inCtr('secpod/www', 'id -u; id -g').stdout).toBe('33\n33\n');
    expect(inCtr('secpod/own', 'id -u; id -g').stdout).toBe('65534\n65534\n');
    expect(inCtr('secpod/own', 'touch /rootfs-write').code).not.toBe(0);
    expect(inCtr('secpod/www', 'touch /tmp/rootfs-write').code).toBe(0); // the control: a writable root takes it
    const capEff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(inCtr('secpod/caps', 'cat /proc/self/status').stdout)![1]}`);
    expect(capEff & (1n << 12n)).toBe(1n << 12n); // NET_ADMIN added
    expect(capEff & 1n).toBe(0n); // CHOWN dropped
    expect(capEff & (1n << 5n)).toBe(1n << 5n); // KILL kept: the default set otherwise
    expect(inCtr('secpod/caps', 'chown 33 /tmp').code).not.toBe(0);
    // runAsNonRoot with an image that runs as root: refused, nothing made.
    await expectRefused(() => playAsync(pod('rootish', `containers:\n- {name: r, image: busybox, command: [sleep, '1'], securityContext: {runAsNonRoot: true}}`)), /container r would run as root \(uid 0\), and runAsNonRoot is set/);
  }, 120_000);

  it('follows restartPolicy: Never leaves a failed container exited, OnFailure restarts it, Always is the default', async () => {
    const r = play(`${pod('never', `restartPolicy: Never\ncontainers:\n- {name: c, image: busybox, command: [sh, -c, 'exit 2']}`)}---\n${pod('onfailure', `restartPolicy: OnFailure\ncontainers:\n- {name: c, image: busybox, command: [sh, -c, 'exit 2']}`)}---\n${pod('always', `containers:\n- {name: c, image: busybox, command: [sh, -c, 'exit 0']}`)}`);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => (ctr('onfailure/c')?.restartCount ?? 0) >= 1 && (ctr('always/c')?.restartCount ?? 0) >= 1, 15_000, 'restarts');
    const never = ctr('never/c')!;
    expect(never.state).toBe('exited');
    expect(never.exitCode).toBe(2);
    expect(never.restartCount).toBe(0);
  });

  it('runs a Deployment of one replica; refuses other replica counts, hostNetwork, privileged, and warns about fields it ignores', async () => {
    const deployment = (replicas: number, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata: {name: deploy, labels: {app: web}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeSelector: {disk: ssd}${extra}
      containers:
      - name: web
        image: busybox
        command: [sleep, '600']
        resources: {limits: {memory: 64Mi}}
`;
    await expectRefused(() => playAsync(deployment(3)), /spec\.replicas: 3 replicas: nsbox runs one pod per name: set replicas: 1/);
    await expectRefused(() => playAsync(deployment(1, '\n      hostNetwork: true')), /spec\.hostNetwork: hostNetwork: true is not supported/);
    await expectRefused(() => playAsync(pod('priv', 'containers:\n- {name: c, image: busybox, securityContext: {privileged: true}}')), /securityContext\.privileged: true is not supported/);
    await expectRefused(() => playAsync(pod('bad name', 'containers: []')), /needs metadata\.name, a lowercase DNS name/);
    await expectRefused(() => playAsync('kind: Pod\nmetadata: {name: x}\n'), /has no apiVersion/);
    await expectRefused(() => playAsync('apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [}'), /not valid YAML/);
    await expectRefused(() => playAsync(pod('noimage', 'containers:\n- {name: c}')), /spec\.containers\[0\]\.image: is required/);
    await expectRefused(() => playAsync(pod('nocm', 'containers:\n- {name: c, image: busybox, env: [{name: A, valueFrom: {configMapKeyRef: {name: gone, key: k}}}]}')), /no ConfigMap named gone is given: add the ConfigMap to the file, or pass it with --configmap FILE/);
    const ok = play(deployment(1));
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/^nsbox: warning: Deployment deploy: spec\.template\.spec\.nodeSelector is not supported and is ignored/m);
    expect(ok.stderr).toMatch(/^nsbox: warning: Deployment deploy: spec\.template\.spec\.containers\[0\]\.resources is not supported and is ignored: nsbox sets no resource limits yet$/m);
    expect(ctr('deploy/web')?.state).toBe('running');
  }, 120_000);

  it('--replace replaces a pod of the same name; without it a second play is refused; --configmap and stdin (-) feed it', async () => {
    const cmFile = manifest('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\ndata: {WORD: first}\n');
    const spec = pod('again', 'containers:\n- {name: c, image: busybox, command: [sleep, "600"], envFrom: [{configMapRef: {name: outside}}]}');
    const file = manifest(spec);
    const first = cli('kube', 'play', '--configmap', cmFile, file);
    expect(first.code, first.stderr).toBe(0);
    expect(inCtr('again/c', 'echo $WORD').stdout).toBe('first\n');
    await expectRefused(() => cliAsync('kube', 'play', '--configmap', cmFile, file), /a pod named again already exists: play with --replace/);
    writeFileSync(cmFile, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\ndata: {WORD: second}\n');
    const replaced = nsbox(kube.root, ['kube', 'play', '--replace', '--configmap', cmFile, '-'], { input: spec });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(inCtr('again/c', 'echo $WORD').stdout).toBe('second\n');
    expect(podNames().filter((p) => p === 'again')).toHaveLength(1);
    // down needs only the names: the ConfigMap given to play with --configmap is not asked for.
    const down = cli('kube', 'down', file);
    expect(down.code, down.stderr).toBe(0);
    expect(podNames()).not.toContain('again');
  }, 120_000);

  it("--network NAME puts the file's pods on a user network: they reach each other by pod name, a pod played without it does not (the control); an unknown network is refused before anything is made", () => {
    expect(cli('network', 'create', 'kubenet').code).toBe(0);
    try {
      const two = `${pod('kweb', "containers:\n- {name: httpd, image: busybox, command: [httpd, -f, -p, '80', -h, /srv]}")}---\n${pod('kclient', "containers:\n- {name: c, image: busybox, command: [sleep, '600']}")}`;
      const r = play(two, '--network', 'kubenet');
      expect(r.code, r.stderr).toBe(0);
      const outsider = play(pod('kout', "containers:\n- {name: c, image: busybox, command: [sleep, '600']}"));
      expect(outsider.code, outsider.stderr).toBe(0);
      const fetch = (from: string) => inCtr(`${from}/c`, 'timeout 3 wget -qO- http://kweb/hello.txt');
      let got = '';
      for (let i = 0; i < 20 && got !== 'hello from the image\n'; i++) got = fetch('kclient').stdout;
      expect(got).toBe('hello from the image\n');
      expect(fetch('kout').code).not.toBe(0);
      const before = podNames();
      const bad = play(pod('knowhere', "containers:\n- {name: c, image: busybox, command: [sleep, '600']}"), '--network', 'nosuchnet');
      expect(isOneLineRefusal(bad), bad.stderr).toBe(true);
      expect(bad.stderr).toMatch(/no such network: nosuchnet: create it with `nsbox network create nosuchnet`/);
      expect(podNames()).toEqual(before);
    } finally {
      for (const p of ['kweb', 'kclient', 'kout']) cli('pod', 'rm', '-f', p);
      cli('network', 'rm', '-f', 'kubenet');
    }
  });

  it('kube down removes the pods the file made, and its named volumes only with --force', () => {
    const text = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: downclaim}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
${pod('downpod', 'terminationGracePeriodSeconds: 1\ncontainers:\n- {name: c, image: busybox, command: [sleep, "600"], volumeMounts: [{name: d, mountPath: /d}]}\nvolumes:\n- {name: d, persistentVolumeClaim: {claimName: downclaim}}')}`;
    const file = manifest(text);
    const podsBefore = podDirs(kube.root).length;
    expect(cli('kube', 'play', file).code).toBe(0);
    expect(podDirs(kube.root).length).toBe(podsBefore + 1);
    const down = cli('kube', 'down', file);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toBe('Pod: downpod\n');
    expect(podNames()).not.toContain('downpod');
    expect(podDirs(kube.root).length).toBe(podsBefore);
    expect(volumes()).toContain('downclaim');
    expect(cli('kube', 'play', file).code).toBe(0);
    const forced = cli('kube', 'down', '--force', file);
    expect(forced.stdout).toBe('Pod: downpod\nVolume: downclaim\n');
    expect(volumes()).not.toContain('downclaim');
  });
});
