// Registry auth against the real docker-registry: htpasswd basic auth (a
// bcrypt file made here), and token auth whose realm is a token issuer the
// test runs (real JWTs, verified by the registry against the issuer's
// certificate). nsbox login checks and keeps credentials in podman's
// $XDG_RUNTIME_DIR/containers/auth.json; REGISTRY_AUTH_FILE and
// ~/.docker/config.json are read too; a 401 names `nsbox login`.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImage } from '../dist/index.js';
import { removeStoreTree } from './helpers/archives.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';
import { busyboxLayers, skopeo, writeLayout, type WrittenManifest } from './helpers/oci-images.js';
import { startRegistry, type Registry } from './helpers/registry.js';
import { startTokenIssuer, type TokenIssuer } from './helpers/token-issuer.js';

let root: string;
let work: string;
let layout: string;
let image: WrittenManifest;
let env: NodeJS.ProcessEnv;
const USER = 'tester';
const PASSWORD = 'pa55-word';

beforeAll(async () => {
  root = tempRoot();
  work = join(root, 'work');
  mkdirSync(work);
  const { base, top } = await busyboxLayers(work);
  layout = join(work, 'layout');
  image = writeLayout(layout, { layers: [{ tar: base }, { tar: top }], cmd: ['cat', '/srv/second.txt'] }, 'v1');
  // A private runtime dir and home, so no host login is read or written.
  mkdirSync(join(root, 'run'), { mode: 0o700 });
  mkdirSync(join(root, 'home'), { mode: 0o700 });
  env = { ...process.env, XDG_RUNTIME_DIR: join(root, 'run'), HOME: join(root, 'home'), REGISTRY_AUTH_FILE: '' };
  delete env.REGISTRY_AUTH_FILE;
}, 60_000);
afterAll(async () => {
  if (!root) return;
  removeAllPods(root);
  await removeStoreTree(join(root, 'images'));
  cleanupRoot(root);
});

const authFile = () => join(root, 'run', 'containers', 'auth.json');
const run = (args: string[], input = '', e = env) => nsbox(root, args, { input, env: e });

function expectRefusal(r: { code: number; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(125);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}

describe(`registry auth (${testMode})`, () => {
  describe('htpasswd basic auth', () => {
    let registry: Registry;
    beforeAll(async () => {
      const htpasswd = join(work, 'htpasswd');
      writeFileSync(htpasswd, `${USER}:${bcrypt.hashSync(PASSWORD, 5)}\n`);
      registry = await startRegistry(join(root, 'reg-basic'), { auth: { htpasswd } });
      skopeo(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${USER}:${PASSWORD}`, `oci:${layout}:v1`, `docker://${registry.host}/team/app:v1`], work);
    }, 60_000);
    afterAll(() => registry?.stop());

    it('a pull without credentials is a one-line error naming nsbox login', () => {
      expectRefusal(run(['pull', `${registry.host}/team/app:v1`]), new RegExp(`${registry.host} refused access \\(401: it wants a user name and password\\): log in with \`nsbox login ${registry.host}\``));
    });

    it('login refuses a wrong password and keeps nothing; the right one is kept in auth.json and pulls', () => {
      expectRefusal(run(['login', '-u', USER, '--password-stdin', registry.host], 'wrong\n'), /login to .* failed: the user name or password was refused/);
      expect(existsSync(authFile())).toBe(false);
      const ok = run(['login', '-u', USER, '--password-stdin', registry.host], `${PASSWORD}\n`);
      expect(ok.stderr).toBe('');
      expect(ok.stdout).toBe(`Login Succeeded (${registry.host}, kept in ${authFile()})\n`);
      expect(statSync(authFile()).mode & 0o777).toBe(0o600);
      const saved = JSON.parse(readFileSync(authFile(), 'utf8')) as { auths: Record<string, { auth: string }> };
      expect(Buffer.from(saved.auths[registry.host]!.auth, 'base64').toString()).toBe(`${USER}:${PASSWORD}`);
      const pull = run(['pull', `${registry.host}/team/app:v1`]);
      expect(pull.code).toBe(0);
      expect(inspectImage(`${registry.host}/team/app:v1`, { root }).layers).toEqual(image.diffIds);
      expect(run(['run', '--rm', `${registry.host}/team/app:v1`]).stdout).toBe('from the second layer\n');
    });

    it('push needs the login too, and works with it (a token-less basic registry)', () => {
      const dest = `${registry.host}/team/pushed:v1`;
      expectRefusal(run(['push', `${registry.host}/team/app:v1`, dest], '', { ...env, XDG_RUNTIME_DIR: join(root, 'home') }), /refused access \(401: it wants a user name and password\): log in with `nsbox login/);
      const r = run(['push', `${registry.host}/team/app:v1`, dest]);
      expect(r.stderr).toMatch(/pushed .*team\/pushed:v1/);
      expect(r.code).toBe(0);
      const manifest = JSON.parse(skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, `docker://${dest}`], work)) as { config: { digest: string } };
      expect(manifest.config.digest).toBe(`sha256:${inspectImage(`${registry.host}/team/app:v1`, { root }).id}`);
    });

    it('logout forgets the login; ~/.docker/config.json and REGISTRY_AUTH_FILE are read too', () => {
      expect(run(['logout', registry.host]).stdout).toBe(`Removed login credentials for ${registry.host}\n`);
      expectRefusal(run(['pull', `${registry.host}/team/app:v1`]), /nsbox login/);
      expectRefusal(run(['logout', registry.host]), /not logged in to/);
      const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
      mkdirSync(join(root, 'home', '.docker'), { recursive: true });
      writeFileSync(join(root, 'home', '.docker', 'config.json'), JSON.stringify({ auths: { [`https://${registry.host}`]: { auth } } }));
      expect(run(['pull', `${registry.host}/team/app:v1`]).code).toBe(0);
      const other = join(work, 'other-auth.json');
      writeFileSync(other, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:nope`).toString('base64') } } }));
      expectRefusal(run(['pull', `${registry.host}/team/app:v1`], '', { ...env, REGISTRY_AUTH_FILE: other }), /refused access \(401: the stored credentials were refused\): log in with `nsbox login/);
    });
  });

  describe('token auth (Bearer realm/service/scope)', () => {
    let issuer: TokenIssuer;
    let registry: Registry;
    beforeAll(async () => {
      issuer = await startTokenIssuer(work, { [USER]: PASSWORD }, ['open/app']);
      registry = await startRegistry(join(root, 'reg-token'), { auth: { token: { realm: issuer.realm, service: issuer.service, issuer: issuer.issuer, rootCertBundle: issuer.certFile } } });
      for (const repo of ['open/app', 'closed/app'])
        skopeo(['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${USER}:${PASSWORD}`, `oci:${layout}:v1`, `docker://${registry.host}/${repo}:v1`], work);
    }, 60_000);
    afterAll(async () => {
      await registry?.stop();
      await issuer?.stop();
    });

    it('pulls anonymously with a token scoped to the repository', () => {
      issuer.clearRequests();
      const r = run(['pull', `${registry.host}/open/app:v1`]);
      expect(r.stderr).toMatch(/pulled |image is up to date/);
      expect(r.code).toBe(0);
      expect(issuer.requests()).toEqual([{ scope: 'repository:open/app:pull', user: null }]);
    });

    it('the registry verifies the tokens: one signed by a key it does not trust is refused', () => {
      issuer.useWrongKey(true);
      try {
        expectRefusal(run(['pull', `${registry.host}/open/app:v1`]), /refused access \(401: it wants credentials\): log in with `nsbox login/);
      } finally {
        issuer.useWrongKey(false);
      }
    });

    it('a repository anonymous tokens do not reach needs a login; after it, the token request carries the credentials', () => {
      expectRefusal(run(['pull', `${registry.host}/closed/app:v1`]), new RegExp(`refused access \\(401: it wants credentials\\): log in with \`nsbox login ${registry.host}\``));
      expectRefusal(run(['login', '-u', USER, '--password-stdin', registry.host], 'nope\n'), /login to .* failed/);
      expect(run(['login', '-u', USER, '--password-stdin', registry.host], `${PASSWORD}\n`).code).toBe(0);
      issuer.clearRequests();
      const r = run(['pull', `${registry.host}/closed/app:v1`]);
      expect(r.code).toBe(0);
      expect(issuer.requests()).toEqual([{ scope: 'repository:closed/app:pull', user: USER }]);
      expect(inspectImage(`${registry.host}/closed/app:v1`, { root }).layers).toEqual(image.diffIds);
      expect(run(['logout', registry.host]).code).toBe(0);
    });
  });
});
