// shareProcessNamespace and sidecar startup probes in kube play.
// - false: each container has a PID namespace of its own, where its command
//   is PID 1 and its neighbour's processes are not seen; an exec and a
//   readiness probe run there. The control: a pod that shares (the field
//   unset) shows /pause as PID 1 and the neighbour. kube generate writes the
//   field out both ways, and the stop of a private pod ends (its PID 1
//   ignores SIGTERM, so the grace period's SIGKILL ends it).
// - A sidecar's startup probe holds the next init container back until it
//   passes; one that never passes fails the play and leaves nothing.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { testMode } from './helpers/env.js';
import { podYaml, useKubeRoot } from './helpers/kube.js';
import { nsboxAsync } from './helpers/nsbox.js';

const kube = useKubeRoot('pidns');
const cli = (...args: string[]) => nsboxAsync(kube.root, args);

/** Two sleepers told apart by their arguments; a private `a` is ready only when its own command is PID 1 of what it sees. */
const sleepers = (share: string) =>
  podYaml(
    share ? 'private' : 'shared',
    `${share}terminationGracePeriodSeconds: 1\ncontainers:\n` +
      `- name: a\n  image: busybox\n  command: [sleep, '1001']\n${share ? "  readinessProbe: {exec: {command: [grep, -q, '1001', /proc/1/cmdline]}, periodSeconds: 1}\n" : ''}` +
      `- name: b\n  image: busybox\n  command: [sleep, '1002']\n`,
  );

/** The command lines `ps` shows in the container, by pid. */
async function processes(pod: string, ctr: string): Promise<Map<number, string>> {
  const r = await cli('exec', '--join', ctr, pod, '--', 'ps', '-o', 'pid,args');
  expect(r.code, r.stderr).toBe(0);
  const rows = r.stdout.trim().split('\n').slice(1).map((l) => l.trim().match(/^(\d+)\s+(.*)$/)!);
  return new Map(rows.map((m) => [Number(m[1]), m[2]!]));
}

describe(`kube play shareProcessNamespace (${testMode})`, () => {
  it('false: each container sees only its own processes, its command as PID 1, and its probe runs there; shared (the control) sees /pause and the neighbour', async () => {
    const privateFile = kube.manifest(sleepers('shareProcessNamespace: false\n'));
    const sharedFile = kube.manifest(sleepers(''));
    for (const f of [privateFile, sharedFile]) {
      const played = await cli('kube', 'play', '--wait', '--timeout', '60', f);
      expect(played.code, played.stderr).toBe(0);
    }

    const a = await processes('private', 'a');
    expect(a.get(1)).toBe('sleep 1001');
    expect([...a.values()].some((c) => c.includes('1002') || c.includes('pause'))).toBe(false);
    const b = await processes('private', 'b');
    expect(b.get(1)).toBe('sleep 1002');
    expect([...b.values()].some((c) => c.includes('1001'))).toBe(false);

    const shared = await processes('shared', 'a');
    expect(shared.get(1)).toBe('/pause');
    expect([...shared.values()]).toEqual(expect.arrayContaining(['sleep 1001', 'sleep 1002']));

    const written = (pod: string) => nsboxAsync(kube.root, ['kube', 'generate', pod]).then((r) => (parse(r.stdout) as { spec: { shareProcessNamespace?: boolean } }).spec.shareProcessNamespace);
    expect(await written('private')).toBe(false);
    expect(await written('shared')).toBe(true);

    // Its PID 1 ignores SIGTERM (no handler): the grace period's SIGKILL ends it, and the down finishes.
    const t0 = Date.now();
    const down = await cli('kube', 'down', privateFile);
    expect(down.code, down.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect((await cli('pod', 'exists', 'private')).code).toBe(1);
    expect((await cli('kube', 'down', sharedFile)).code).toBe(0);
  });
});

describe(`kube play sidecar startup probes (${testMode})`, () => {
  /** A sidecar that is up (its file in the shared emptyDir) only after 2 s, and an init container that fails unless it is. */
  const withSidecar = (name: string, probe: string) =>
    podYaml(
      name,
      `restartPolicy: Never\ninitContainers:\n` +
        `- name: side\n  image: busybox\n  restartPolicy: Always\n  command: [sh, -c, 'sleep 2; touch /shared/up; exec sleep 1000']\n  volumeMounts: [{name: shared, mountPath: /shared}]\n  startupProbe: ${probe}\n` +
        `- name: after\n  image: busybox\n  command: [test, -f, /shared/up]\n  volumeMounts: [{name: shared, mountPath: /shared}]\n` +
        `containers:\n- name: main\n  image: busybox\n  command: [sleep, '1000']\nterminationGracePeriodSeconds: 1\nvolumes:\n- {name: shared, emptyDir: {}}`,
    );

  it('holds the next init container back until the probe passes', async () => {
    const file = kube.manifest(withSidecar('awaited', '{exec: {command: [test, -f, /shared/up]}, periodSeconds: 1, failureThreshold: 20}'));
    const played = await cli('kube', 'play', file);
    expect(played.code, played.stderr).toBe(0);
    const ps = JSON.parse((await cli('ps', '-a', '--format', 'json')).stdout) as { podName: string; name: string; exitCode: number | null }[];
    expect(ps.find((c) => c.podName === 'awaited' && c.name === 'after')?.exitCode).toBe(0);
    expect((await cli('kube', 'down', file)).code).toBe(0);
  });

  it('a probe that never passes fails the play with its count and leaves no pod', async () => {
    const file = kube.manifest(withSidecar('neverup', '{exec: {command: [test, -f, /shared/never]}, periodSeconds: 1, failureThreshold: 2}'));
    const played = await cli('kube', 'play', file);
    expect(played.code).toBe(125);
    expect(played.stderr).toMatch(/sidecar neverup\/side: its startup probe failed 2 times in a row/);
    expect((await cli('pod', 'exists', 'neverup')).code).toBe(1);
  });
});
