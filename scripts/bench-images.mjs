#!/usr/bin/env node
// Pull against the peer, in one run on this machine: a local docker-registry
// (Debian's, plain HTTP on 127.0.0.1) holds a ~100 MB five-layer image this
// script builds (busybox and four 25 MB layers); `nsbox pull` (the CLI, a
// fresh store each time) is timed against `skopeo copy docker://… oci:DIR`
// (a fresh directory each time), and a second pull of the stored image in
// the library (no blob fetched). Prints medians and the ratios.
//
//   node scripts/bench-images.mjs [--iterations N]
//
// Everything lives in a private temporary directory removed at the end; the
// registry is ended by its pid.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { machineInfo, median } from './lib/bench.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli', 'nsbox.cjs');
const iterations = Number(process.argv[process.argv.indexOf('--iterations') + 1] || 3) || 3;
const dir = mkdtempSync(join(tmpdir(), 'nsbox-bench-images-'));
let registry = null;

const sha = (b) => createHash('sha256').update(b).digest('hex');

function tarOf(entries) {
  const blocks = [];
  for (const e of entries) {
    const body = e.data ?? Buffer.alloc(0);
    const block = Buffer.alloc(512);
    new Header({ path: e.path, mode: e.dir ? 0o755 : 0o644, uid: 0, gid: 0, size: body.length, mtime: new Date(0), type: e.dir ? 'Directory' : 'File' }).encode(block);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function writeLayout(out, tars) {
  mkdirSync(join(out, 'blobs', 'sha256'), { recursive: true });
  const blob = (b) => (writeFileSync(join(out, 'blobs', 'sha256', sha(b)), b), { digest: `sha256:${sha(b)}`, size: b.length });
  const config = Buffer.from(JSON.stringify({ architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', config: { Cmd: ['/bin/sh'] }, rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${sha(t)}`) } }));
  const layers = tars.map((t) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(t, { level: 1 })) }));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...blob(config) }, layers }));
  const m = blob(manifest);
  writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(out, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }));
  return layers.reduce((n, l) => n + l.size, 0);
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRegistry() {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'storage')}\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: bench\n`);
  const child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' });
  registry = child;
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (ok) return `127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('docker-registry did not start');
}

function time(cmd, args, env) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return performance.now() - t0;
}

async function main() {
  const m = machineInfo();
  console.log(`machine: ${m.cpu}, ${m.cores} cores, ${m.totalMemory}, Linux ${m.kernel}, Node ${m.node}, ${m.privilege}`);
  const skopeoVersion = execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim();
  const host = await startRegistry();
  // Half random, half repeated: gzip gets about 2:1, as real layers do.
  const chunk = () => Buffer.concat([randomBytes(12 * 2 ** 20), Buffer.alloc(13 * 2 ** 20, 'nsbox ')]);
  const tars = [tarOf([{ path: 'bin/', dir: true }, { path: 'bin/busybox', data: readFileSync('/bin/busybox') }]), ...[1, 2, 3, 4].map((i) => tarOf([{ path: `data${i}/`, dir: true }, { path: `data${i}/blob`, data: chunk() }]))];
  const layout = join(dir, 'layout');
  const compressed = writeLayout(layout, tars);
  const uncompressed = tars.reduce((n, t) => n + t.length, 0);
  spawnSync('skopeo', ['--insecure-policy', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/bench/app:v1`], { stdio: 'inherit' });
  const ref = `${host}/bench/app:v1`;
  console.log(`image: ${tars.length} layers, ${(compressed / 1e6).toFixed(0)} MB compressed, ${(uncompressed / 1e6).toFixed(0)} MB uncompressed; registry ${host}; ${skopeoVersion}`);

  const nsboxMs = [];
  const skopeoMs = [];
  for (let i = 0; i < iterations; i++) {
    const root = join(dir, `nsbox-${i}`);
    mkdirSync(root, { mode: 0o700 });
    nsboxMs.push(time(process.execPath, [cli, '--root', root, 'pull', '-q', ref]));
    skopeoMs.push(time('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(dir, `skopeo-${i}`)}:v1`]));
  }
  const { pullImage } = await import(join(repo, 'dist', 'index.js'));
  const againMs = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const r = await pullImage(ref, { root: join(dir, 'nsbox-0') });
    againMs.push(performance.now() - t0);
    if (r.layersFetched !== 0) throw new Error('the second pull fetched layers');
  }
  const med = (xs) => median([...xs].sort((a, b) => a - b));
  console.log(`nsbox pull (CLI, fresh store, fetch + verify + extract): median ${med(nsboxMs).toFixed(0)} ms of ${nsboxMs.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(`skopeo copy docker:// oci:DIR (fetch + verify, no extraction): median ${med(skopeoMs).toFixed(0)} ms of ${skopeoMs.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(`ratio nsbox / skopeo: ${(med(nsboxMs) / med(skopeoMs)).toFixed(2)}x (target <= 1.0x: ${med(nsboxMs) <= med(skopeoMs) ? 'PASS' : 'MISS'})`);
  console.log(`second pull in the library (manifest only, no blob): median ${med(againMs).toFixed(1)} ms (target <= 50 ms: ${med(againMs) <= 50 ? 'PASS' : 'MISS'})`);
}

try {
  await main();
} finally {
  if (registry?.pid) process.kill(registry.pid, 'SIGTERM');
  // the stores hold files of mapped ids: remove them in the user namespace
  try {
    const { removeTree } = await import(join(repo, 'dist', 'image', 'worker-client.js'));
    for (let i = 0; i < iterations; i++) await removeTree(join(dir, `nsbox-${i}`)).catch(() => {});
  } catch {
    // best effort
  }
  rmSync(dir, { recursive: true, force: true });
}
