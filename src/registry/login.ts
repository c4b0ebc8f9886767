// `nsbox login`: checks the credentials against the registry (GET /v2/,
// through whatever auth it asks for) and only then stores them in podman's
// auth file; `nsbox logout` removes them.
import { NsboxError } from '../errors.js';
import { authFilePath, removeCredentials, storeCredentials, type Credentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import { DOCKER_HUB } from './reference.js';

export interface LoginOptions {
  username: string;
  password: string;
  tlsVerify?: boolean;
  certDir?: string;
}

/** "docker.io" for Docker Hub's spellings; a bare host:port otherwise (no scheme, no path). */
export function registryName(registry: string): string {
  const bare = registry.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  if (!bare || !/^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$/.test(bare))
    throw new NsboxError('INVALID_ARGUMENT', `${JSON.stringify(registry)} is not a registry`, 'give HOST[:PORT], e.g. nsbox login ghcr.io');
  return ['index.docker.io', 'registry-1.docker.io', 'docker.io'].includes(bare) ? DOCKER_HUB : bare;
}

export async function login(registry: string, o: LoginOptions): Promise<{ registry: string; authFile: string }> {
  const { name, creds } = await verifyLogin(registry, o);
  return { registry: name, authFile: storeCredentials(name, creds) };
}

/** Checks the credentials against the registry without keeping them (the Docker API's /auth: its client keeps them). */
export async function verifyLogin(registry: string, o: LoginOptions): Promise<{ name: string; creds: Credentials }> {
  const name = registryName(registry);
  if (!o.username) throw new NsboxError('INVALID_ARGUMENT', 'no user name', 'give one with -u USER');
  if (!o.password) throw new NsboxError('INVALID_ARGUMENT', 'no password', 'pipe it in with --password-stdin');
  const creds: Credentials = { username: o.username, password: o.password };
  const client = new RegistryClient(name === DOCKER_HUB ? 'registry-1.docker.io' : name, { tlsVerify: o.tlsVerify, certDir: o.certDir, credentials: creds });
  try {
    const res = await client.request('/v2/', { scope: undefined });
    await res.body?.cancel().catch(() => {});
    if (res.status === 401 || res.status === 403) throw client.unauthorized('the user name or password is wrong');
    if (!res.ok) throw new NsboxError('REGISTRY_ERROR', `${name} answered ${res.status} to /v2/`, 'is it a container registry?');
  } catch (err) {
    if (err instanceof NsboxError && err.code === 'REGISTRY_UNAUTHORIZED')
      throw new NsboxError('LOGIN_FAILED', `login to ${name} failed: the user name or password was refused`, 'check them and run `nsbox login` again');
    throw err;
  } finally {
    await client.close();
  }
  return { name, creds };
}

export function logout(registry: string): { registry: string; authFile: string } {
  const name = registryName(registry);
  const authFile = authFilePath();
  if (!removeCredentials(name)) throw new NsboxError('NOT_LOGGED_IN', `not logged in to ${name} (${authFile} has no entry for it)`, 'nothing to do');
  return { registry: name, authFile };
}
