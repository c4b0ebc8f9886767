// A kube subPath is checked when the play starts, but the volume is the
// containers' to write: a link planted there after the check must not turn
// the bind into one of the host's directories. The bind of a path `within`
// a volume is walked again by the shim as it is made, with no symbolic link.
// Here the check is skipped on purpose (the mount is given as the checked
// path would be, with the link already planted): the start fails, and
// without `within` (the control) the same link does lead to the host's file.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod } from '../dist/index.js';
import { buildRunRequest, resolveImage } from '../dist/container/run.js';
import type { Pod } from '../dist/index.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { removeAllPods } from './helpers/nsbox.js';

let root: string;
let pod: Pod;
let volume: string;

beforeAll(async () => {
  root = tempRoot();
  importImage(root, 'busybox');
  pod = await createPod({ root, name: 'race', detached: true });
  pod.dataRoot = root;
  // The host's secret, outside any volume; the volume, with a real directory and a planted link.
  mkdirSync(join(root, 'host-secret'));
  writeFileSync(join(root, 'host-secret', 'secret.txt'), 'the host\'s secret\n');
  volume = join(root, 'volume');
  mkdirSync(join(volume, 'real'), { recursive: true });
  writeFileSync(join(volume, 'real', 'file.txt'), 'in the volume\n');
  // Relative, as a container would write it: it resolves through the host's root that the bind is made from.
  symlinkSync('../host-secret', join(volume, 'planted'));
});
afterAll(async () => {
  await pod?.remove({ force: true });
  removeAllPods(root);
  cleanupRoot(root);
});

async function runWith(name: string, mount: { source: string; within?: string }): Promise<{ code: number | null; stdout: string; stderr: string } | { error: string }> {
  const image = await resolveImage('busybox', root);
  const request = buildRunRequest(image, { name, command: ['sh', '-c', 'cat /mnt/*.txt'] });
  try {
    await pod.startContainer({ ...request, mounts: [{ type: 'bind', target: '/mnt', readOnly: true, kind: 'dir', ...mount }] });
  } catch (err) {
    return { error: (err as Error).message };
  }
  const c = await pod.container(name);
  const code = await c.wait();
  const { stdout, stderr } = await c.logs();
  return { code, stdout, stderr };
}

describe(`a subPath bind walked again as it is made (${testMode})`, () => {
  it('a real directory within the volume is bound (the positive control)', async () => {
    expect(await runWith('real', { source: join(volume, 'real'), within: volume })).toEqual({ code: 0, stdout: 'in the volume\n', stderr: '' });
  });

  it('a link planted within the volume is refused as the bind is made, and nothing of the host is seen', async () => {
    const r = await runWith('planted', { source: join(volume, 'planted'), within: volume });
    // The start itself fails (exit 125, nsbox's own error), naming the link; the command never ran.
    const said = 'error' in r ? r.error : `${r.code} ${r.stderr}`;
    expect(said).toMatch(/ELOOP|symbolic link/i);
    expect(said).not.toMatch(/secret/);
  });

  it('without the walk (the control), the same link leads to the host: what the walk prevents', async () => {
    expect(await runWith('followed', { source: join(volume, 'planted') })).toEqual({ code: 0, stdout: "the host's secret\n", stderr: '' });
  });
});
