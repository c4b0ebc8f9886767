// lifecycle.preStop of kube play: the hook runs in the container before its
// stop signal, on `nsbox stop POD/CTR` and on `kube down` (the pod's stop),
// inside the one grace period: a hook that outlasts it does not hold the
// stop up. A container without a hook gets the signal alone (the control),
// and kube generate writes the hook back out.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { testMode } from './helpers/env.js';
import { useKubeRoot, podYaml } from './helpers/kube.js';
import { nsboxAsync, waitFor } from './helpers/nsbox.js';

const kube = useKubeRoot('prestop');
const cli = (...args: string[]) => nsboxAsync(kube.root, args);
const manifest = (text: string) => kube.manifest(text);
const pod = podYaml;
/** A container that appends "NAME term" to /shared/order when SIGTERM comes, then exits. */
const trapping = (name: string, extra = '') =>
  `- name: ${name}\n  image: busybox\n  command: [sh, -c, 'trap "echo ${name} term >> /shared/order; exit 0" TERM; touch /shared/${name}.ready; while :; do sleep 0.1; done']\n  volumeMounts: [{name: shared, mountPath: /shared}]\n${extra}`;
/** Resolves once each named container has set its trap (a loaded machine may take a while). */
const trapsSet = (shared: string, ...names: string[]) => waitFor(() => names.every((n) => existsSync(join(shared, `${n}.ready`))), 15_000, `the traps of ${names.join(', ')}`);
const hook = (name: string) => `  lifecycle: {preStop: {exec: {command: [sh, -c, 'echo ${name} prestop >> /shared/order']}}}\n`;
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe(`kube play lifecycle.preStop (${testMode})`, () => {
  it('runs the hook before the stop signal on `nsbox stop` and on `kube down`; a container without one gets the signal alone', async () => {
    const shared = join(kube.root, 'shared1');
    mkdirSync(shared);
    const file = manifest(
      pod('hooks', `terminationGracePeriodSeconds: 10\ncontainers:\n${trapping('one', hook('one'))}${trapping('two', hook('two'))}${trapping('plain')}volumes:\n- {name: shared, hostPath: {path: ${shared}, type: Directory}}`),
    );
    const played = await cli('kube', 'play', file);
    expect(played.code, played.stderr).toBe(0);
    await trapsSet(shared, 'one', 'two', 'plain');
    const order = join(shared, 'order');
    const stopped = await cli('stop', 'hooks/one');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(lines(order)).toEqual(['one prestop', 'one term']);
    const generated = parse((await cli('kube', 'generate', 'hooks')).stdout) as { spec: { containers: { name: string; lifecycle?: unknown }[] } };
    expect(generated.spec.containers.map((c) => [c.name, c.lifecycle ?? null])).toEqual([
      ['one', { preStop: { exec: { command: ['sh', '-c', 'echo one prestop >> /shared/order'] } } }],
      ['two', { preStop: { exec: { command: ['sh', '-c', 'echo two prestop >> /shared/order'] } } }],
      ['plain', null],
    ]);
    const down = await cli('kube', 'down', file);
    expect(down.code, down.stderr).toBe(0);
    const rest = lines(order).slice(2);
    // The pod's hooks run before the pod's signal: two's hook first, then both traps (in either order).
    expect(rest[0]).toBe('two prestop');
    expect(rest.slice(1).sort()).toEqual(['plain term', 'two term']);
  });

  it('a hook that outlasts the grace period does not hold the stop up: the container is killed when the period ends', async () => {
    const shared = join(kube.root, 'shared2');
    mkdirSync(shared);
    const stubborn = `- name: stubborn\n  image: busybox\n  command: [sh, -c, 'trap "" TERM; while :; do sleep 0.1; done']\n  lifecycle: {preStop: {exec: {command: [sh, -c, 'echo started >> /shared/order; sleep 600']}}}\n  volumeMounts: [{name: shared, mountPath: /shared}]\n`;
    const file = manifest(pod('slowhook', `terminationGracePeriodSeconds: 2\ncontainers:\n${stubborn}volumes:\n- {name: shared, hostPath: {path: ${shared}, type: Directory}}`));
    const played = await cli('kube', 'play', file);
    expect(played.code, played.stderr).toBe(0);
    const t0 = Date.now();
    const down = await cli('kube', 'down', file);
    const took = Date.now() - t0;
    expect(down.code, down.stderr).toBe(0);
    // The hook ran (and was cut off), the whole stop took the period and not the hook's 600 s.
    expect(lines(join(shared, 'order'))).toEqual(['started']);
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(20_000);
    expect((await cli('pod', 'exists', 'slowhook')).code).toBe(1);
  });

  it('a sleep hook delays the signal by its seconds', async () => {
    const shared = join(kube.root, 'shared3');
    mkdirSync(shared);
    const file = manifest(
      pod('sleephook', `terminationGracePeriodSeconds: 10\ncontainers:\n${trapping('c', '  lifecycle: {preStop: {sleep: {seconds: 2}}}\n')}volumes:\n- {name: shared, hostPath: {path: ${shared}, type: Directory}}`),
    );
    const played = await cli('kube', 'play', file);
    expect(played.code, played.stderr).toBe(0);
    await trapsSet(shared, 'c');
    const t0 = Date.now();
    const stopped = await cli('stop', 'sleephook/c');
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(lines(join(shared, 'order'))).toEqual(['c term']);
    expect((await cli('kube', 'down', file)).code).toBe(0);
  });

  it("a failed liveness probe runs the hook, then the stop signal, and the restart policy brings the container back (the kubelet's order)", async () => {
    const shared = join(kube.root, 'shared4');
    mkdirSync(shared);
    // Live while /shared/fail is missing; the hook removes it, so the container comes back healthy.
    const extra = `  livenessProbe: {exec: {command: [sh, -c, 'test ! -e /shared/fail']}, periodSeconds: 1, failureThreshold: 1}\n  lifecycle: {preStop: {exec: {command: [sh, -c, 'echo sick prestop >> /shared/order; rm -f /shared/fail']}}}\n`;
    const file = manifest(pod('liveness', `terminationGracePeriodSeconds: 10\ncontainers:\n${trapping('sick', extra)}${trapping('well', hook('well'))}volumes:\n- {name: shared, hostPath: {path: ${shared}, type: Directory}}`));
    const played = await cli('kube', 'play', file);
    expect(played.code, played.stderr).toBe(0);
    await trapsSet(shared, 'sick', 'well');
    const restarts = async (name: string) =>
      (JSON.parse((await cli('ps', '-a', '--format', 'json')).stdout) as { name: string; podName: string; restartCount: number }[]).find((c) => c.podName === 'liveness' && c.name === name)?.restartCount;
    expect(await restarts('sick')).toBe(0);
    writeFileSync(join(shared, 'fail'), '');
    const order = join(shared, 'order');
    await waitFor(() => lines(order).length >= 2, 15_000, 'the hook and the trap of the failed container');
    expect(lines(order)).toEqual(['sick prestop', 'sick term']);
    for (let i = 0; i < 100 && (await restarts('sick')) !== 1; i++) await new Promise((done) => setTimeout(done, 100));
    expect(await restarts('sick')).toBe(1);
    expect(await restarts('well')).toBe(0); // the control: its hook never ran
    expect(lines(order)).toEqual(['sick prestop', 'sick term']);
    expect((await cli('kube', 'down', file)).code).toBe(0);
  });
});
