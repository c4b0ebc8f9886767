// The translation of a manifest (src/kube, pure: no pod is made): what each
// field becomes, the one-line refusal of each field that would change what
// runs if ignored, and the warning naming each one that is ignored.
import { describe, expect, it } from 'vitest';
import { planKube, NsboxError } from '../dist/index.js';

const pod = (spec: string, name = 'p') => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n${spec.replace(/^/gm, '  ')}\n`;
const plan = (text: string, publish: string[] = []) => planKube([{ text, source: 'test.yaml' }], { publish });

async function refusal(text: string): Promise<NsboxError> {
  try {
    await plan(text);
  } catch (err) {
    if (err instanceof NsboxError) return err;
    throw err;
  }
  throw new Error('it was not refused');
}

describe('kube play translation (pure)', () => {
  it('maps command/args to entrypoint/command, ports to publish specs, probes with Kubernetes\' defaults, pull policies', async () => {
    const p = await plan(pod(`containers:
- name: c
  image: busybox
  imagePullPolicy: Never
  command: [sh]
  args: [-c, 'echo $(A)']
  env: [{name: A, value: x}]
  ports:
  - {containerPort: 80, hostPort: 8080}
  - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
  - {containerPort: 9000, name: metrics}
  livenessProbe: {tcpSocket: {port: metrics}}
  readinessProbe: {httpGet: {path: health, port: 80, httpHeaders: [{name: X-Probe, value: '1'}]}, initialDelaySeconds: 2}`), ['9090:80']);
    const [c] = p.pods[0]!.containers;
    expect(c).toMatchObject({ entrypoint: ['sh'], command: ['-c', 'echo x'], pull: 'never' });
    expect(p.pods[0]!.publish).toEqual(['8080:80', '127.0.0.1:5353:53/udp', '9090:80']);
    expect(c!.liveness).toEqual({ action: { kind: 'tcp', port: 9000 }, initialDelayMs: 0, periodMs: 10_000, timeoutMs: 1000, failureThreshold: 3 });
    expect(c!.readiness?.action).toEqual({ kind: 'http', port: 80, path: '/health', scheme: 'HTTP', headers: { 'X-Probe': '1' } });
    expect(c!.readiness?.initialDelayMs).toBe(2000);
    expect((await plan(pod('containers:\n- {name: c, image: busybox}'))).pods[0]!.containers[0]!.pull).toBe('missing');
    expect((await plan(pod('containers:\n- {name: c, image: busybox, imagePullPolicy: Always}'))).pods[0]!.containers[0]!.pull).toBe('always');
  });

  it('reads YAML 1.1 as Kubernetes does (defaultMode: 0644 is octal), secrets in base64, binaryData, multi-document files and Lists', async () => {
    const p = await plan(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata: {name: s}
  data: {k: ${Buffer.from('v\n').toString('base64')}}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
  binaryData: {bin: ${Buffer.from([0, 1, 2]).toString('base64')}}
---
${pod('containers:\n- {name: c, image: busybox, volumeMounts: [{name: s, mountPath: /s}, {name: b, mountPath: /b}]}\nvolumes:\n- {name: s, secret: {secretName: s, defaultMode: 0640}}\n- {name: b, configMap: {name: b}}')}`);
    const [s, b] = p.pods[0]!.podVolumes;
    expect(s!.files).toEqual([{ key: 'k', path: 'k', content: Buffer.from('v\n'), mode: 0o640 }]);
    expect(b!.files[0]!.content).toEqual(Buffer.from([0, 1, 2]));
  });

  it('refuses, in one line naming the field and the fix', async () => {
    const cases: [string, RegExp][] = [
      [pod('hostPID: true\ncontainers:\n- {name: c, image: busybox}'), /^spec\.hostPID: hostPID: true is not supported: an nsbox pod has namespaces of its own: remove hostPID$/],
      [pod('containers:\n- {name: c, image: busybox, volumeMounts: [{name: v, mountPath: /v, subPathExpr: "$(POD)"}]}\nvolumes:\n- {name: v, emptyDir: {}}'), /volumeMounts\[0\]\.subPathExpr: .* is not supported/],
      [pod('containers:\n- {name: c, image: busybox, volumeMounts: [{name: v, mountPath: /v, mountPropagation: Bidirectional}]}\nvolumes:\n- {name: v, emptyDir: {}}'), /mountPropagation: "Bidirectional" is not supported/],
      [pod('containers:\n- {name: c, image: busybox, volumeMounts: [{name: nope, mountPath: /v}]}'), /no volume named nope in spec\.volumes/],
      [pod('containers:\n- {name: c, image: busybox, volumeMounts: [{name: v, mountPath: relative}]}\nvolumes:\n- {name: v, emptyDir: {}}'), /mountPath: "relative" is not absolute/],
      [pod('containers:\n- {name: c, image: busybox, securityContext: {runAsGroup: 5}}'), /runAsGroup: is given without runAsUser/],
      [pod('containers:\n- {name: c, image: busybox, securityContext: {seccompProfile: {type: Unconfined}}}'), /seccompProfile\.type: "Unconfined" is not supported/],
      [pod('containers:\n- {name: c, image: busybox, livenessProbe: {grpc: {port: 1}}}'), /livenessProbe\.grpc: .* is not supported/],
      [pod('containers:\n- {name: c, image: busybox, readinessProbe: {exec: {command: [x]}, tcpSocket: {port: 1}}}'), /readinessProbe: gives exec and tcpSocket: a probe has one/],
      [pod('containers:\n- {name: c, image: busybox, readinessProbe: {httpGet: {port: web}}}'), /port: "web" is neither a port number nor a named containerPort/],
      [pod('restartPolicy: Sometimes\ncontainers:\n- {name: c, image: busybox}'), /restartPolicy: "Sometimes" is not a restart policy: use Always, OnFailure or Never/],
      [pod('containers:\n- {name: c, image: busybox}\n- {name: c, image: busybox}'), /two containers named c/],
      [pod('containers:\n- {name: c, image: busybox, ports: [{containerPort: 80, protocol: SCTP}]}'), /protocol: "SCTP" is not supported/],
      [pod('containers:\n- {name: c, image: busybox, env: [{name: "1bad", value: x}]}'), /env\[0\]\.name: "1bad" is not a variable name/],
      [pod('containers:\n- {name: c, image: busybox, env: [{name: A, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}]}'), /fieldPath: "spec\.serviceAccountName" is not supported: use one of metadata\.name/],
      [pod('containers:\n- {name: c, image: busybox}\nvolumes:\n- {name: v, hostPath: {path: /x, type: BlockDevice}}'), /hostPath\.type: "BlockDevice" is not supported/],
      [pod('initContainers:\n- {name: i, image: busybox, restartPolicy: OnFailure}\ncontainers:\n- {name: c, image: busybox}'), /restartPolicy: "OnFailure" is not a restart policy for an init container: use Always \(a sidecar, kept running\), or remove it/],
      [pod('containers:\n- {name: c, image: busybox}', 'a') + '---\n' + pod('containers:\n- {name: c, image: busybox}', 'a'), /a second pod named a/],
      ['apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nmetadata: {name: y}\n', /not valid YAML: .*(duplicate|unique)/i],
      ['apiVersion: apps/v1\nkind: Pod\nmetadata: {name: x}\n', /apiVersion apps\/v1 is not v1: write apiVersion: v1/],
      ['apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {k: "not base64!"}\n', /data\.k: is not base64/],
    ];
    for (const [text, want] of cases) {
      const err = await refusal(text);
      expect(err.oneLine(), text).toMatch(want);
      expect(err.oneLine()).not.toContain('\n');
    }
    // The control: the same pod without the refused field translates.
    expect((await plan(pod('containers:\n- {name: c, image: busybox}'))).pods).toHaveLength(1);
    await expect(plan(pod('containers:\n- {name: c, image: busybox}', 'a') + '---\n' + pod('containers:\n- {name: c, image: busybox}', 'b'), ['80:80'])).rejects.toThrow(/--publish: the file has 2 pods/);
  });

  it('warns, naming each field it ignores, and skips kinds it does not run', async () => {
    const p = await plan(`apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
---
${pod(`serviceAccountName: app
tolerations: [{key: k}]
containers:
- name: c
  image: busybox
  lifecycle: {postStart: {exec: {command: [sh, -c, 'sleep 1']}}}
  madeUp: 1`)}`);
    expect(p.warnings).toEqual([
      'test.yaml, document 1: kind Service (svc) is not supported and is skipped',
      'Pod p: spec.containers[0].lifecycle.postStart is not supported and is ignored: postStart hooks are not run',
      'Pod p: spec.containers[0].madeUp is not supported and is ignored',
      'Pod p: spec.tolerations is not supported and is ignored: nsbox runs the pod on this machine',
      'Pod p: spec.serviceAccountName is not supported and is ignored: it has no meaning outside a cluster',
    ]);
  });

  it('reads lifecycle.preStop: exec and sleep are run on stop, httpGet is a warning; an init container\'s hook and a hook of two actions are refused', async () => {
    const p = await plan(pod(`containers:
- {name: a, image: busybox, lifecycle: {preStop: {exec: {command: [nginx, -s, quit]}}}}
- {name: b, image: busybox, lifecycle: {preStop: {sleep: {seconds: 3}}}}
- {name: c, image: busybox, lifecycle: {preStop: {httpGet: {port: 80, path: /drain}}}}
- {name: d, image: busybox}`));
    const [a, b, c, d] = p.pods[0]!.containers;
    expect(a!.preStop).toEqual({ exec: ['nginx', '-s', 'quit'] });
    expect(b!.preStop).toEqual({ sleepSeconds: 3 });
    expect(c!.preStop).toBeUndefined();
    expect(d!.preStop).toBeUndefined();
    expect(p.warnings).toEqual(['Pod p: spec.containers[2].lifecycle.preStop.httpGet is not supported and is ignored: nsbox runs exec and sleep preStop hooks']);
    const init = await refusal(pod(`initContainers:\n- {name: i, image: busybox, lifecycle: {preStop: {sleep: {seconds: 1}}}}\ncontainers:\n- {name: c, image: busybox}`));
    expect(init.oneLine()).toMatch(/spec\.initContainers\[0\]\.lifecycle\.preStop: init containers have no lifecycle hooks/);
    const two = await refusal(pod(`containers:\n- {name: c, image: busybox, lifecycle: {preStop: {exec: {command: [true]}, sleep: {seconds: 1}}}}`));
    expect(two.oneLine()).toMatch(/lifecycle\.preStop: gives exec and sleep: a hook has one/);
    const empty = await refusal(pod(`containers:\n- {name: c, image: busybox, lifecycle: {preStop: {exec: {}}}}`));
    expect(empty.oneLine()).toMatch(/preStop\.exec\.command: is required/);
  });
});
