// `nsbox pull` against a real registry (docker-registry on 127.0.0.1, plain
// HTTP, allowed for loopback as docker allows), fed by real skopeo from OCI
// layouts the test builds: busybox plus a layer with a whiteout, a zstd
// copy, and a two-platform index. The registry's access log says which blobs
// were fetched; a faulty proxy in front of it stalls, cuts or corrupts one
// blob.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage, listImages, NsboxError, pullImage, type PullProgress } from '../dist/index.js';
import { removeStoreTree, sha256, tarBuffer } from './helpers/archives.js';
import { cleanupRoot, cliPath, tempRoot, testMode } from './helpers/env.js';
import { runOnTerminal, shq } from './helpers/pty.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, goArch, OCI_INDEX, OCI_MANIFEST, skopeo, writeImageBlobs, writeIndex, writeLayout, type WrittenManifest } from './helpers/oci-images.js';
import { startFaultyProxy, startRegistry, type ProxyMode, type Registry } from './helpers/registry.js';

let root: string;
let work: string;
let registry: Registry;
let image: WrittenManifest;
let big: WrittenManifest;
/** The layer digests the registry holds for test/big (skopeo compresses plain layers as it pushes). */
let bigBlobs: string[];
let multi: { amd: WrittenManifest; arm: WrittenManifest };
const otherArch = goArch() === 'arm64' ? 'amd64' : 'arm64';

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  registry = await startRegistry(join(root, 'registry'));
  const { base, top } = await busyboxLayers(work);
  const push = (layout: string, tag: string, dest: string, extra: string[] = []) =>
    skopeo(['copy', '-q', ...extra, '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${registry.host}/${dest}`], work);

  image = writeLayout(join(work, 'bb'), { layers: [{ tar: base }, { tar: top, compression: 'none' }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  push(join(work, 'bb'), 'v1', 'test/bb:v1');
  // zstd layers (made by the zstd command), which skopeo pushes as they are.
  writeLayout(join(work, 'zstd'), { layers: [{ tar: base, compression: 'zstd' }, { tar: top, compression: 'zstd' }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  push(join(work, 'zstd'), 'v1', 'test/zstd:v1');

  // Three layers, the last 24 MB of random bytes: big enough to be caught mid-transfer.
  const noise = tarBuffer([{ path: 'srv/noise', content: randomBytes(24 * 1024 * 1024) }]);
  big = writeLayout(join(work, 'big'), { layers: [{ tar: base }, { tar: top, compression: 'none' }, { tar: noise, compression: 'none' }] }, 'v1');
  push(join(work, 'big'), 'v1', 'test/big:v1');
  bigBlobs = (JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/test/big:v1`], work)) as { layers: { digest: string }[] }).layers.map((l) => l.digest);

  // A two-platform index: this machine's busybox, and another arch's image with a marker file.
  const m = join(work, 'multi');
  const amd = writeImageBlobs(m, { layers: [{ tar: base }, { tar: top }] });
  const arm = writeImageBlobs(m, { layers: [{ tar: tarBuffer([{ path: 'arch.txt', content: `${otherArch}\n` }]) }], architecture: otherArch });
  // index.json names (tag "1") an image index of the two manifests, which skopeo --all copies whole.
  const nested = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: goArch() } },
        { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.size, platform: { os: 'linux', architecture: otherArch } },
      ],
    }),
  );
  writeFileSync(join(m, 'blobs', 'sha256', sha256(nested)), nested);
  writeIndex(m, [{ mediaType: OCI_INDEX, digest: `sha256:${sha256(nested)}`, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': '1' } }]);
  multi = { amd, arm };
  skopeo(['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${m}:1`, `docker://${registry.host}/test/multi:1`], work);
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  if (!root) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

const scratch = () => readdirSync(join(root, 'images', 'tmp'));
const layerDirs = () => (existsSync(join(root, 'images', 'layers')) ? readdirSync(join(root, 'images', 'layers')).sort() : []);

function expectRefusal(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(125);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe(`nsbox pull (${testMode})`, () => {
  it('pulls an image (gzip and plain layers) and runs it; one line per layer when not on a terminal', () => {
    const ref = `${registry.host}/test/bb:v1`;
    const r = nsbox(root, ['pull', ref]);
    // One line per layer as each is stored (in the order they finish), then the summary.
    const lines = r.stderr.split('\n');
    expect(lines.slice(0, 2).sort()).toEqual([expect.stringMatching(/^layer 1\/2 sha256:[0-9a-f]{12}…: .* stored$/), expect.stringMatching(/^layer 2\/2 sha256:[0-9a-f]{12}…: .* stored$/)]);
    expect(lines.slice(2)).toEqual([expect.stringMatching(/^pulled .*test\/bb:v1 \(sha256:[0-9a-f]{12}…, 2 layers, .* fetched, .* s\)$/), '']);
    expect(r.code).toBe(0);
    const img = inspectImage(ref, { root });
    expect(r.stdout).toBe(`${img.id}\n`);
    expect(`sha256:${img.id}`).toBe(image.configDigest);
    expect(img.layers).toEqual(image.diffIds);
    expect(img.source).toBe('registry');
    expect(scratch()).toEqual([]);
    const run = nsbox(root, ['run', '--rm', ref]);
    expect(run.stdout).toBe('from the second layer\n');
    expect(nsbox(root, ['run', '--rm', ref, 'sh', '-c', 'test -e /srv/hello.txt || echo whited-out']).stdout).toBe('whited-out\n');
  });

  it('on a terminal, shows one line per layer, redrawn in place', async () => {
    const store = join(root, 'ttystore');
    mkdirSync(store, { mode: 0o700 });
    try {
      const r = runOnTerminal(`${shq(process.execPath)} ${shq(cliPath)} --root ${shq(store)} pull ${shq(`${registry.host}/test/bb:v1`)}`, { when: '', typed: '' });
      expect(r.code).toBe(0);
      // Each redraw goes back up over the layer lines it drew before, and clears each line.
      expect(r.output).toContain('\x1b[2A');
      expect(r.output).toMatch(/\r\x1b\[Klayer 1\/2 sha256:[0-9a-f]{12}…: .* stored\n\r\x1b\[Klayer 2\/2 sha256:[0-9a-f]{12}…: .* stored\n/);
      expect(r.output).toMatch(/pulled .*test\/bb:v1/);
    } finally {
      await removeStoreTree(join(store, 'images'));
    }
  });

  it('a second pull fetches no blob: only the manifest', async () => {
    await registry.settle();
    const before = registry.blobGets();
    const r = await pullImage(`${registry.host}/test/bb:v1`, { root });
    expect(r.layersFetched).toBe(0);
    expect(r.bytesFetched).toBe(0);
    await registry.settle();
    expect(registry.blobGets()).toBe(before);
    expect(r.summary).toMatch(/image is up to date/);
    // The positive control: the first pull's requests are in the log (config and two layers).
    expect(before).toBeGreaterThanOrEqual(3);
  });

  it('pulls zstd-compressed layers (decoded as they arrive) and runs them; the same layers by diff_id are not fetched again', async () => {
    const ref = `${registry.host}/test/zstd:v1`;
    const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], work)) as { layers: { mediaType: string }[] };
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    // A store of its own, so the zstd blobs are fetched and decoded.
    const z = join(root, 'zstore');
    mkdirSync(z, { mode: 0o700 });
    try {
      const r = nsbox(z, ['pull', ref]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/already stored/);
      expect(inspectImage(ref, { root: z }).layers).toEqual(image.diffIds);
      const run = nsbox(z, ['run', '--rm', ref]);
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('from the second layer\n');
    } finally {
      removeAllPods(z);
      await removeStoreTree(join(z, 'images'));
    }
    // In the main store the same layers (gzip blobs before) are already there.
    const again = nsbox(root, ['pull', ref]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/layer 1\/2 .*already stored\nlayer 2\/2 .*already stored/);
  });

  it("selects this machine's platform from an index, another with --platform, and names what an index offers when none fits", () => {
    const ref = `${registry.host}/test/multi:1`;
    expect(nsbox(root, ['pull', ref]).code).toBe(0);
    expect(inspectImage(ref, { root }).layers).toEqual(multi.amd.diffIds);
    expect(nsbox(root, ['run', '--rm', ref, 'cat', '/srv/second.txt']).stdout).toBe('from the second layer\n');
    const other = nsbox(root, ['pull', '--platform', `linux/${otherArch}`, ref]);
    expect(other.code).toBe(0);
    const img = inspectImage(ref, { root });
    expect(img.layers).toEqual(multi.arm.diffIds);
    expect(img.architecture).toBe(otherArch);
    expect(readFileSync(join(img.layerDirs[0]!, 'arch.txt'), 'utf8')).toBe(`${otherArch}\n`);
    expectRefusal(nsbox(root, ['pull', '--platform', 'linux/s390x', ref]), new RegExp(`has no image for linux/s390x \\(it has linux/${goArch()}, linux/${otherArch}\\): choose one with --platform OS/ARCH`));
    expectRefusal(nsbox(root, ['pull', '--platform', 'linux', ref]), /--platform "linux" is not OS\/ARCH/);
  });

  it('refuses what is not there and bad references with one line each, storing nothing', () => {
    const before = listImages({ root }).length;
    expectRefusal(nsbox(root, ['pull', `${registry.host}/test/bb:nope`]), /has no tag nope: check the name and tag/);
    expectRefusal(nsbox(root, ['pull', `${registry.host}/Bad/Name`]), /invalid image reference .*bad component "Bad"/);
    expectRefusal(nsbox(root, ['pull', '--tls-verify', 'maybe', `${registry.host}/test/bb:v1`]), /--tls-verify=maybe is not true or false/);
    expect(listImages({ root }).length).toBe(before);
    expect(scratch()).toEqual([]);
  });

  it('run pulls an image it lacks (--pull missing, the default), always with --pull always, never with --pull never', async () => {
    const ref = `${registry.host}/test/bb:v1`;
    const store = join(root, 'runstore');
    mkdirSync(store, { mode: 0o700 });
    try {
      expectRefusal(nsbox(store, ['run', '--rm', '--pull', 'never', ref]), /no image ".*test\/bb:v1"/);
      expectRefusal(nsbox(store, ['run', '--rm', '--pull', 'sometimes', ref]), /--pull "sometimes" is not a pull policy: use --pull missing, always or never/);
      expect(listImages({ root: store })).toEqual([]);
      const first = nsbox(store, ['run', '--rm', ref]);
      expect(first.stdout).toBe('from the second layer\n');
      expect(first.stderr).toMatch(/layer 1\/2 .* stored/);
      expect(first.code).toBe(0);
      await registry.settle();
      const manifests = () => (registry.log().match(/"GET \/v2\/test\/bb\/manifests\/v1 /g) ?? []).length;
      const seen = manifests();
      // Present: missing does not ask the registry; always does (and fetches no blob).
      const blobs = registry.blobGets();
      expect(nsbox(store, ['run', '--rm', ref]).stdout).toBe('from the second layer\n');
      await registry.settle();
      expect(manifests()).toBe(seen);
      expect(nsbox(store, ['run', '--rm', '--pull', 'always', ref]).stdout).toBe('from the second layer\n');
      await registry.settle();
      expect(manifests()).toBe(seen + 1);
      expect(registry.blobGets()).toBe(blobs);
    } finally {
      removeAllPods(store);
      await removeStoreTree(join(store, 'images'));
    }
  });

  describe('faults on the way', () => {
    let mode: ProxyMode = { kind: 'pass' };
    let proxy: { host: string; stop: () => Promise<void> };
    const bigRef = () => `${proxy.host}/test/big:v1`;
    const noise = () => bigBlobs[2]!;
    beforeAll(async () => {
      proxy = await startFaultyProxy(registry.host, () => mode);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('a corrupted blob is refused by its digest; nothing of it is stored', async () => {
      mode = { kind: 'corrupt', digest: noise() };
      const before = layerDirs();
      const err = await pullImage(bigRef(), { root }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NsboxError);
      expect((err as NsboxError).oneLine()).toMatch(/layer 3\/3 \(sha256:[0-9a-f]{12}…\) does not match its digest \(got sha256:[0-9a-f]{64}\): the registry or something between is corrupting data/);
      // Only verified layers (the two small ones, if they were not there already) entered the store.
      const verified = big.diffIds.slice(0, 2).map((d) => d.slice(7));
      expect(layerDirs().filter((d) => !before.includes(d)).every((d) => verified.includes(d))).toBe(true);
      expect(existsSync(join(root, 'images', 'layers', big.diffIds[2]!.slice(7)))).toBe(false);
      expect(scratch()).toEqual([]);
      expect(listImages({ root }).some((i) => i.names.includes(`${proxy.host}/test/big:v1`))).toBe(false);
    });

    it('refuses hostile manifests with one line each, storing nothing: too large, a redirect loop, an unknown media type, too many layers', async () => {
      const ref = `${proxy.host}/test/hostile:v1`;
      const manifestPath = '/v2/test/hostile/manifests/v1';
      const answer = (status: number, body: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }) => {
        mode = { kind: 'answer', path: manifestPath, status, headers, body };
      };
      const refusal = async (pattern: RegExp) => {
        const err = await pullImage(ref, { root }).then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(NsboxError);
        expect((err as NsboxError).oneLine()).toMatch(pattern);
        expect((err as NsboxError).oneLine()).not.toContain('\n');
      };
      const images = listImages({ root }).length;
      const layers = layerDirs();
      const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 10 };
      const layer = (mediaType: string) => ({ mediaType, digest: `sha256:${'b'.repeat(64)}`, size: 10 });
      try {
        // Announced in Content-Length, and sent chunked without one.
        answer(200, Buffer.alloc(5 * 1024 * 1024, ' '), { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(5 * 1024 * 1024) });
        await refusal(/is 5242880 bytes, more than the 4194304 nsbox accepts: the registry is hostile or misconfigured/);
        answer(200, Buffer.alloc(5 * 1024 * 1024, ' '));
        await refusal(/is more than the 4194304 bytes nsbox accepts: the registry is hostile or misconfigured/);
        answer(307, '', { location: manifestPath });
        await refusal(/redirected too many times \(a redirect loop\)/);
        answer(200, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer('application/x-mystery')] }));
        await refusal(/layer 1 has the media type "application\/x-mystery", which nsbox does not know: only tar layers/);
        answer(200, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: Array.from({ length: 200 }, () => layer('application/vnd.oci.image.layer.v1.tar')) }));
        await refusal(/has 200 layers; nsbox takes at most 128/);
        // The control: the same path, passed through to the registry, is a plain "no such tag".
        mode = { kind: 'pass' };
        await refusal(/has no tag v1/);
      } finally {
        mode = { kind: 'pass' };
      }
      expect(listImages({ root }).length).toBe(images);
      expect(layerDirs()).toEqual(layers);
      expect(scratch()).toEqual([]);
    });

    it('a blob cut short is refused; an interrupted pull keeps its verified layers and a retry fetches only what is missing', async () => {
      mode = { kind: 'truncate', digest: noise() };
      const cut = await pullImage(bigRef(), { root }).then(() => null, (e: unknown) => e);
      expect((cut as NsboxError).oneLine()).toMatch(/layer 3\/3 .*(ended after \d+ of its \d+ bytes|the transfer failed)/);
      expect(scratch()).toEqual([]);

      // A fresh store; the noise blob stalls halfway; interrupt once the small layers are stored.
      const fresh = join(root, 'fresh');
      mkdirSync(fresh);
      mode = { kind: 'stall', digest: noise() };
      const ac = new AbortController();
      const stored: number[] = [];
      const onProgress = (p: PullProgress) => {
        if (p.state === 'stored') stored.push(p.layer!);
        if (stored.length === 2) ac.abort();
      };
      const err = await pullImage(bigRef(), { root: fresh, onProgress, signal: ac.signal }).then(() => null, (e: unknown) => e);
      expect((err as NsboxError).oneLine()).toMatch(/interrupted.*pull again/);
      expect(stored.sort()).toEqual([1, 2]);
      expect(readdirSync(join(fresh, 'images', 'layers')).sort()).toEqual([big.diffIds[0]!.slice(7), big.diffIds[1]!.slice(7)].sort());
      expect(readdirSync(join(fresh, 'images', 'tmp'))).toEqual([]);
      expect(listImages({ root: fresh })).toEqual([]);

      // The retry, straight to the registry: only the missing layer (and the config) is fetched.
      await registry.settle();
      const gets = bigBlobs.map((d) => registry.blobGets(d));
      const r = await pullImage(`${registry.host}/test/big:v1`, { root: fresh });
      expect(r.layersFetched).toBe(1);
      await registry.settle();
      expect(bigBlobs.map((d, i) => registry.blobGets(d) - gets[i]!)).toEqual([0, 0, 1]);
      expect(inspectImage(`${registry.host}/test/big:v1`, { root: fresh }).layers).toEqual(big.diffIds);
      await removeStoreTree(join(fresh, 'images'));
    });
  });
});
