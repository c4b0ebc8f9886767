// Containers through the library API, as a test suite would use them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, type Pod } from '../dist/index.js';
import { makeBusyboxTarball } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { podDirs } from './helpers/nsbox.js';

let root: string;
let tarball: string;
let pod: Pod;

beforeAll(async () => {
  root = tempRoot();
  tarball = await makeBusyboxTarball(root);
  pod = await createPod({ root, name: 'lib-ctr' });
});
afterAll(async () => {
  await pod.remove({ force: true });
  cleanupRoot(root);
});

describe(`containers from the library (${testMode})`, () => {
  it('runs a container from a tarball, waits for it and reads its logs', async () => {
    const c = await pod.run(tarball, { name: 'once', command: ['sh', '-c', 'echo out; echo err >&2; exit 4'] });
    expect(await c.wait()).toBe(4);
    expect(c.logs()).toEqual({ stdout: 'out\n', stderr: 'err\n' });
    expect(c.record()).toMatchObject({ state: 'exited', exitCode: 4, restartCount: 0 });
    await c.remove();
  });

  it('execs in a running container, signals it, stops and removes it', async () => {
    const c = await pod.run(tarball, { name: 'svc', command: ['sh', '-c', 'echo started; exec sleep 1000'], env: { MODE: 'test' }, workdir: '/srv' });
    expect(c.record().state).toBe('running');
    const r = await c.exec(['sh', '-c', 'echo $MODE $(pwd); cat hello.txt']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'test /srv\nhello from the image\n' });
    const stopped = await c.stop({ timeoutSeconds: 2 });
    expect(stopped.exitCode).toBe(143);
    await c.remove();
  });

  it('removes a running container with force, leaving no files', async () => {
    const c = await pod.run(tarball, { name: 'forced', command: ['sleep', '1000'] });
    await expect(c.remove()).rejects.toThrow(/is running/);
    await c.remove({ force: true });
    expect(podDirs(root)).toEqual([pod.id]);
  });
});
