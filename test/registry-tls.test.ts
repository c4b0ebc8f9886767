// A registry serving HTTPS from a certificate signed by a CA the test makes
// with openssl: refused until nsbox is given the CA (--cert-dir DIR, or
// NODE_EXTRA_CA_CERTS), or told not to verify (--tls-verify=false); never
// "fixed" by falling back to plain HTTP.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage } from '../dist/index.js';
import { removeStoreTree } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox } from './helpers/nsbox.js';
import { busyboxLayers, skopeo, writeLayout, type WrittenManifest } from './helpers/oci-images.js';
import { startRegistry, type Registry } from './helpers/registry.js';

let root: string;
let work: string;
let certs: string;
let registry: Registry;
let image: WrittenManifest;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  certs = join(root, 'certs');
  mkdirSync(work);
  mkdirSync(certs);
  const tls = join(root, 'tls');
  mkdirSync(tls);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tls, 'ca.key'), '-out', join(certs, 'ca.crt'), '-days', '2', '-subj', '/CN=nsbox test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tls, 'server.key'), '-out', join(tls, 'server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(tls, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', join(tls, 'server.csr'), '-CA', join(certs, 'ca.crt'), '-CAkey', join(tls, 'ca.key'), '-CAcreateserial', '-out', join(tls, 'server.crt'), '-days', '2', '-extfile', join(tls, 'san.ext')]);
  registry = await startRegistry(join(root, 'registry'), { tls: { cert: join(tls, 'server.crt'), key: join(tls, 'server.key') } });
  const { base, top } = await busyboxLayers(work);
  image = writeLayout(join(work, 'layout'), { layers: [{ tar: base }, { tar: top }] }, 'v1');
  skopeo(['copy', '-q', '--dest-cert-dir', certs, `oci:${join(work, 'layout')}:v1`, `docker://${registry.host}/secure/app:v1`], work);
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  if (!root) return;
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

describe(`registry over TLS (${testMode})`, () => {
  const ref = () => `${registry.host}/secure/app:v1`;

  it('refuses a certificate it cannot verify, with one line naming --cert-dir (no fallback to plain HTTP)', () => {
    const r = nsbox(root, ['pull', ref()]);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/TLS with 127\.0\.0\.1:\d+ failed: .*: give its CA with --cert-dir DIR \(or NODE_EXTRA_CA_CERTS\)/);
  });

  it('pulls with --cert-dir DIR holding the CA', () => {
    const r = nsbox(root, ['pull', '--cert-dir', certs, ref()]);
    expect(r.stderr).toMatch(/pulled /);
    expect(r.code).toBe(0);
    expect(inspectImage(ref(), { root }).layers).toEqual(image.diffIds);
  });

  it('run --pull takes --cert-dir too (the control: without it the pull is refused)', () => {
    const refused = nsbox(root, ['run', '--rm', '--pull', 'always', ref(), 'true']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/give its CA with --cert-dir DIR/);
    const r = nsbox(root, ['run', '--rm', '--pull', 'always', '--cert-dir', certs, ref(), 'sh', '-c', 'echo ran']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ran\n');
  });

  it('login --cert-dir DIR checks the registry over verified TLS (the control: refused without it)', () => {
    const env = { ...process.env, XDG_RUNTIME_DIR: join(root, 'runtime') };
    mkdirSync(env.XDG_RUNTIME_DIR, { recursive: true, mode: 0o700 });
    const refused = nsbox(root, ['login', '-u', 'someone', '--password-stdin', registry.host], { input: 'secret\n', env });
    expect(refused.code).toBe(125);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/TLS with 127\.0\.0\.1:\d+ failed: .*--cert-dir DIR/);
    expect(existsSync(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'))).toBe(false);
    const r = nsbox(root, ['login', '--cert-dir', certs, '-u', 'someone', '--password-stdin', registry.host], { input: 'secret\n', env });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'), 'utf8')).toContain(registry.host);
  });

  it('registries.conf insecure = true for the registry accepts its certificate (the first test is the control)', () => {
    const conf = join(work, 'registries.conf');
    writeFileSync(conf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    const r = nsbox(root, ['pull', ref()], { env: { ...process.env, CONTAINERS_REGISTRIES_CONF: conf } });
    expect(r.code, r.stderr).toBe(0);
  });

  it('pulls with NODE_EXTRA_CA_CERTS naming the CA, and with --tls-verify=false', () => {
    expect(nsbox(root, ['pull', ref()], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(certs, 'ca.crt') } }).code).toBe(0);
    expect(nsbox(root, ['pull', '--tls-verify=false', ref()]).code).toBe(0);
  });
});
