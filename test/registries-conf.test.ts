// registries.conf, through CONTAINERS_REGISTRIES_CONF pointing at a file the
// test writes (never /etc): two real docker-registry instances on 127.0.0.1
// (A holds the image under a mirror path, B is the registry itself), a
// mirror that is down, the search list for short names, and a blocked
// registry. The registries' access logs say who served the blobs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '../dist/index.js';
import { removeStoreTree } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, writeLayout } from './helpers/oci-images.js';
import { freePort, startRegistry, type Registry } from './helpers/registry.js';

let root: string;
let work: string;
let a: Registry;
let b: Registry;
let down: string;
let conf: string;
const stores: string[] = [];

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  [a, b] = await Promise.all([startRegistry(join(root, 'registry-a')), startRegistry(join(root, 'registry-b'))]);
  down = `127.0.0.1:${await freePort()}`; // nothing listens there
  const { base, top } = await busyboxLayers(work);
  writeLayout(join(work, 'layout'), { layers: [{ tar: base }, { tar: top, compression: 'none' }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  const r = nsbox(root, ['image', 'import', join(work, 'layout'), '--name', 'local/app:v1']);
  if (r.code !== 0) throw new Error(r.stderr);
  // A has it as a mirror of B's team/app; B has team/only and the short-name image; B's secret/app exists but is blocked.
  for (const dest of [`${a.host}/mirrored/team/app:v1`, `${b.host}/team/only:v1`, `${b.host}/tools/app:v1`, `${b.host}/secret/app:v1`]) await pushImage('local/app:v1', dest, { root });
  conf = join(work, 'registries.conf');
  writeFileSync(
    conf,
    [
      `unqualified-search-registries = ["${down}", "${b.host}/tools"]`,
      '',
      '[[registry]]',
      'prefix = "images.example.invalid/team"',
      `location = "${b.host}/team"`,
      '[[registry.mirror]]',
      `location = "${down}/team"`,
      '[[registry.mirror]]',
      `location = "${a.host}/mirrored/team"`,
      '',
      '[[registry]]',
      `prefix = "${b.host}/secret"`,
      'blocked = true',
      '',
    ].join('\n'),
  );
}, 90_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (!root) return;
  for (const s of stores) {
    removeAllPods(s);
    await removeStoreTree(join(s, 'images'));
  }
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

/** A store of its own for each pull, so every pull fetches. */
function store(): string {
  const s = join(root, `store-${stores.length}`);
  mkdirSync(s, { mode: 0o700 });
  stores.push(s);
  return s;
}
const env = (file = conf) => ({ ...process.env, CONTAINERS_REGISTRIES_CONF: file });
const pull = (ref: string, file?: string) => nsbox(store(), ['pull', ref], { env: env(file) });

describe(`registries.conf (${testMode})`, () => {
  it('pulls through the first mirror that answers (after one that is down), not from the location', async () => {
    await Promise.all([a.settle(), b.settle()]);
    const [beforeA, beforeB] = [a.blobGets(), b.blobGets()];
    const r = pull('images.example.invalid/team/app:v1');
    expect(r.stderr).toMatch(/pulled images\.example\.invalid\/team\/app:v1 /);
    expect(r.code).toBe(0);
    await Promise.all([a.settle(), b.settle()]);
    expect(a.blobGets() - beforeA).toBe(3); // the config and two layers, from the mirror
    expect(b.blobGets() - beforeB).toBe(0);
  });

  it('falls through to the location when no mirror has the image', async () => {
    await Promise.all([a.settle(), b.settle()]);
    const beforeB = b.blobGets();
    const r = pull('images.example.invalid/team/only:v1');
    expect(r.code).toBe(0);
    await b.settle();
    expect(b.blobGets() - beforeB).toBe(3);
    // The control: without the [[registry]] entry, that name goes to its own (non-existent) host and fails.
    const plain = join(work, 'search-only.conf');
    writeFileSync(plain, `unqualified-search-registries = ["${b.host}/tools"]\n`);
    const c = pull('images.example.invalid/team/only:v1', plain);
    expect(c.code).toBe(125);
    expect(c.stderr).toMatch(/images\.example\.invalid/);
  });

  it('a short name tries each search registry in order and is stored under its full name', () => {
    const s = store();
    const r = nsbox(s, ['pull', 'app:v1'], { env: env() });
    expect(r.code).toBe(0);
    const ls = nsbox(s, ['image', 'ls', '--format', 'json']);
    expect(ls.stdout).toContain(`${b.host}/tools/app:v1`);
    // The control: a short name none of them has fails, naming each registry tried.
    const m = pull('missing:v1');
    expect(m.code).toBe(125);
    expect(m.stderr.trim().split('\n')).toHaveLength(1);
    expect(m.stderr).toContain(down);
    expect(m.stderr).toContain(`${b.host}/tools`);
  });

  it('refuses a blocked registry with one line naming the file; the same image is pulled without that entry (the control)', () => {
    const r = pull(`${b.host}/secret/app:v1`);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is blocked by .*registries\.conf/);
    const push = nsbox(root, ['push', 'local/app:v1', `${b.host}/secret/app:v2`], { env: env() });
    expect(push.code).toBe(125);
    expect(push.stderr).toMatch(/blocked/);
    const plain = join(work, 'unblocked.conf');
    writeFileSync(plain, '# nothing configured\n');
    expect(pull(`${b.host}/secret/app:v1`, plain).code).toBe(0);
  });

  it('a registries.conf that is not TOML is a one-line error naming the file', () => {
    const broken = join(work, 'broken.conf');
    writeFileSync(broken, '[[registry]\nprefix = \n');
    const r = pull(`${b.host}/tools/app:v1`, broken);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/broken\.conf: not valid TOML/);
  });
});
