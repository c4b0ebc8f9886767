// imagePullPolicy as `--pull`, against a real registry on 127.0.0.1 (the
// busybox image pushed there by nsbox): Never refuses an image the store
// lacks, IfNotPresent pulls it once, Always asks the registry again.
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { importImage } from './helpers/images.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { removeStoreTree } from './helpers/archives.js';
import { nsbox, nsboxAsync, removeAllPods } from './helpers/nsbox.js';

let root: string;
let registry: Registry;
let ref: string;

beforeAll(async () => {
  root = tempRoot();
  importImage(root, 'busybox');
  registry = await startRegistry(join(root, 'registry'));
  ref = `${registry.host}/kube/bb:v1`;
  const pushed = await nsboxAsync(root, ['push', 'busybox', ref]);
  expect(pushed.code, pushed.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

const cli = (...args: string[]) => nsbox(root, args);
const manifestGets = () => (registry.log().match(/"GET \/v2\/kube\/bb\/manifests\/v1/g) ?? []).length;
function play(policy: string, name: string) {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n  - {name: c, image: "${ref}", imagePullPolicy: ${policy}, command: [sleep, "600"]}\n`);
  return nsboxAsync(root, ['kube', 'play', file]);
}

describe(`kube play imagePullPolicy (${testMode})`, () => {
  it('Never refuses an image the store lacks; IfNotPresent pulls it once; Always asks the registry again', async () => {
    const never = await play('Never', 'never');
    expect(isOneLineRefusal(never), never.stderr).toBe(true);
    expect(never.stderr).toMatch(/no image|not found/i);
    expect(cli('pod', 'exists', 'never').code).toBe(1);
    await registry.settle();
    expect(manifestGets()).toBe(0);

    const first = await play('IfNotPresent', 'ifnotpresent');
    expect(first.code, first.stderr).toBe(0);
    await registry.settle();
    const afterPull = manifestGets();
    expect(afterPull).toBeGreaterThan(0);
    expect(cli('image', 'inspect', ref).code).toBe(0);

    // In the store now: IfNotPresent and Never run it without asking the registry.
    expect((await play('IfNotPresent', 'again')).code).toBe(0);
    expect((await play('Never', 'never2')).code).toBe(0);
    await registry.settle();
    expect(manifestGets()).toBe(afterPull);

    const always = await play('Always', 'always');
    expect(always.code, always.stderr).toBe(0);
    await registry.settle();
    expect(manifestGets()).toBeGreaterThan(afterPull);
    expect(JSON.parse(cli('ps', '--format', 'json').stdout).filter((c: { state: string }) => c.state === 'running')).toHaveLength(4);
  });
});
