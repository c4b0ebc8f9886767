// The process that spawns containers stays as it was. A container process
// changes to another uid while it still shares this process's memory (the
// shim clones with CLONE_VM), and the kernel then marks that memory
// non-dumpable: this process's /proc files would turn root's, and newuidmap
// would refuse the next pod it makes (writing uid_map: EACCES). The shim
// restores the setting once every sharer has exec'd. Rootless is where it
// shows: as root, /proc files are root's either way.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetwork, createPod, removeNetwork, type Pod } from '../dist/index.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';

let root: string;
const pods: Pod[] = [];

beforeAll(() => {
  root = tempRoot();
  importImage(root, 'busybox');
});
afterAll(async () => {
  for (const p of pods) await p.remove({ force: true }).catch(() => {});
  await removeNetwork('dumpnet', { root, force: true }).catch(() => {});
  cleanupRoot(root);
});

const ownerOfMyProc = () => statSync(`/proc/${process.pid}`).uid;

describe(`the spawning process after a container changed its uid (${testMode})`, () => {
  it("a library pod's container and an exec run as uid 1000 leave this process's /proc its own, and it can still make a pod on a user network", async () => {
    const me = ownerOfMyProc();
    expect(me).toBe(process.getuid!());
    const local = await createPod({ root, name: 'spawner' });
    local.dataRoot = root;
    pods.push(local);
    // Run by this process (a library pod): the container's process is forked from here.
    const c = await local.run('busybox', { name: 'u', command: ['sleep', '1000'], user: '1000' });
    expect(ownerOfMyProc()).toBe(me);
    const r = await c.exec(['id', '-u']);
    expect(r.stdout).toBe('1000\n');
    expect(ownerOfMyProc()).toBe(me);
    // The consequence: a user network's holders are made with newuidmap on this process's children.
    await createNetwork({ root, name: 'dumpnet' });
    const onNet = await createPod({ root, name: 'on-net', detached: true, network: 'dumpnet' });
    pods.push(onNet);
    expect(onNet.status()).toBe('running');
  });
});
