// Probes of `kube play`: readinessProbe (exec, httpGet, tcpSocket) decides
// when `--wait` returns, and a container that never gets ready fails it
// with the reason and its last log lines (the pods removed); the liveness
// probe is the container's health check, and its failure ends the
// container, which the restart policy brings back.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { useKubeRoot, podYaml, containerView } from './helpers/kube.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, nsboxAsync, waitFor } from './helpers/nsbox.js';

const kube = useKubeRoot('p');
const manifest = (text: string) => kube.manifest(text);
const pod = podYaml;
const cli = (...args: string[]) => nsbox(kube.root, args);
const podNames = () => (JSON.parse(cli('pod', 'ls', '--format', 'json').stdout) as { name: string }[]).map((p) => p.name);
const ctr = (ref: string) => containerView(kube.root, ref);
const inCtr = (pod: string, c: string, script: string) => cli('exec', '--join', c, pod, '--', 'sh', '-c', script);

describe(`kube play probes and --wait (${testMode})`, () => {
  it('--wait returns once readiness probes pass (httpGet after a delay, tcpSocket, exec), not before', async () => {
    const file = manifest(pod('slow', `containers:
- name: web
  image: busybox
  command: [sh, -c, 'echo booting; sleep 2; exec httpd -f -p 8080 -h /srv']
  ports: [{containerPort: 8080, name: http}]
  readinessProbe: {httpGet: {path: /hello.txt, port: http}, periodSeconds: 1}
- name: tcp
  image: busybox
  command: [sh, -c, 'sleep 1; exec nc -ll -p 9000 -e cat']
  readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
- name: file
  image: busybox
  command: [sh, -c, 'sleep 1; touch /tmp/ready; sleep 600']
  readinessProbe: {exec: {command: [test, -e, /tmp/ready]}, initialDelaySeconds: 1, periodSeconds: 1}`));
    const started = Date.now();
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', file]);
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(took).toBeGreaterThanOrEqual(2000);
    // Ready means ready: the page is served now, the port listens, the file is there.
    expect(inCtr('slow', 'web', 'wget -q -O - http://127.0.0.1:8080/hello.txt').stdout).toBe('hello from the image\n');
    expect(inCtr('slow', 'file', 'test -e /tmp/ready').code).toBe(0);
    expect(inCtr('slow', 'tcp', 'echo ping | nc -w 1 127.0.0.1 9000').stdout).toBe('ping\n');
    // The readiness probe is also the health check, run by the keeper through the same probe code.
    await waitFor(() => JSON.parse(cli('inspect', 'slow/web').stdout)[0].State.Health?.Status === 'healthy', 10_000, 'slow/web healthy');
    await waitFor(() => JSON.parse(cli('inspect', 'slow/tcp').stdout)[0].State.Health?.Status === 'healthy', 10_000, 'slow/tcp healthy');
  });

  it('--wait fails on timeout naming each container that is not ready, why, and its last log lines; the pod is removed', async () => {
    const file = manifest(pod('never', `containers:
- name: missing
  image: busybox
  command: [sh, -c, 'echo serving from /srv; exec httpd -f -p 8080 -h /srv']
  readinessProbe: {httpGet: {path: /not-there, port: 8080}, periodSeconds: 1}
- name: closed
  image: busybox
  command: [sh, -c, 'echo no listener here; sleep 600']
  readinessProbe: {tcpSocket: {port: 9999}, periodSeconds: 1}
- name: fine
  image: busybox
  command: [sleep, '600']
  readinessProbe: {exec: {command: ['true']}, periodSeconds: 1}`));
    const started = Date.now();
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', '--timeout', '3', file]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/kube play --wait: not ready within 3 s/);
    expect(r.stderr).toMatch(/never\/missing: readiness probe failing: HTTP 404; last log lines: serving from \/srv/);
    expect(r.stderr).toMatch(/never\/closed: readiness probe failing: nothing listens on port 9999; last log lines: no listener here/);
    expect(r.stderr).not.toMatch(/never\/fine/); // the control: the ready one is not blamed
    expect(podNames()).not.toContain('never');
  });

  it('--wait fails at once when a container exits for good, and returns for containers without probes once they run', async () => {
    const crash = manifest(pod('crash', `restartPolicy: Never\ncontainers:\n- {name: c, image: busybox, command: [sh, -c, 'echo config missing >&2; exit 4']}`));
    const r = await nsboxAsync(kube.root, ['kube', 'play', '--wait', '--timeout', '60', crash]);
    expect(isOneLineRefusal(r), r.stderr).toBe(true);
    expect(r.stderr).toMatch(/crash\/c exited with code 4.*last log lines: config missing/);
    const plain = manifest(pod('plain', `containers:\n- {name: c, image: busybox, command: [sleep, '600']}`));
    const ok = await nsboxAsync(kube.root, ['kube', 'play', '--wait', plain]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ctr('plain/c')?.state).toBe('running');
  });

  it('a failing livenessProbe kills the container and the restart policy restarts it; a passing one leaves it be', async () => {
    const r = cli('kube', 'play', manifest(pod('live', `containers:
- name: sick
  image: busybox
  command: [sleep, '600']
  livenessProbe: {exec: {command: [test, -e, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}
- name: healthy
  image: busybox
  command: [sh, -c, 'touch /tmp/alive; sleep 600']
  livenessProbe: {exec: {command: [test, -e, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}`)));
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(cli('inspect', 'live/sick').stdout)[0].Config.Healthcheck).toMatchObject({ Test: ['CMD', 'test', '-e', '/tmp/alive'], Interval: 1e9, Retries: 2 });
    await waitFor(() => (ctr('live/sick')?.restartCount ?? 0) >= 1, 20_000, 'live/sick restarted');
    expect(ctr('live/healthy')?.restartCount).toBe(0);
    expect(ctr('live/healthy')?.state).toBe('running');
  });
});
