// Registry credentials where podman and docker keep them: podman's
// $XDG_RUNTIME_DIR/containers/auth.json (or REGISTRY_AUTH_FILE), which
// `nsbox login` writes, then ~/.docker/config.json, read only, so existing
// logins just work. Entries are {"auths": {"HOST": {"auth": base64(user:pass)}}}.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { NsboxError } from '../errors.js';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string }>;
  [key: string]: unknown;
}

/** The file `nsbox login` writes. */
export function authFilePath(env = process.env): string {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  const runtime = env.XDG_RUNTIME_DIR || join('/run/user', String(process.getuid?.() ?? 0));
  return join(runtime, 'containers', 'auth.json');
}

function readAuthFile(path: string): AuthFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const v = JSON.parse(text) as AuthFile;
    return typeof v === 'object' && v !== null ? v : null;
  } catch {
    throw new NsboxError('BAD_AUTH_FILE', `${path} is not valid JSON`, 'fix or remove it, then `nsbox login` again');
  }
}

/** The keys an entry for `registry` may have (docker writes Docker Hub as its v1 URL). */
function keysFor(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
  if (registry === 'docker.io') keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

function decode(auth: string, path: string): Credentials {
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw new NsboxError('BAD_AUTH_FILE', `an entry of ${path} has no user:password`, 'run `nsbox login REGISTRY` again');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Stored credentials for `registry`, or null (then requests go anonymous). */
export function lookupCredentials(registry: string, env = process.env): Credentials | null {
  const files = [authFilePath(env), join(env.HOME || homedir(), '.docker', 'config.json')];
  for (const path of files) {
    const auths = readAuthFile(path)?.auths;
    if (!auths) continue;
    for (const k of keysFor(registry)) {
      const auth = auths[k]?.auth;
      if (typeof auth === 'string' && auth) return decode(auth, path);
    }
  }
  return null;
}

function writeAuthFile(path: string, content: AuthFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(content, null, '\t') + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function storeCredentials(registry: string, creds: Credentials, env = process.env): string {
  const path = authFilePath(env);
  const file = readAuthFile(path) ?? {};
  file.auths = { ...(file.auths ?? {}), [registry]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  writeAuthFile(path, file);
  return path;
}

/** Removes the entry nsbox's auth file has for `registry`; false if there was none. */
export function removeCredentials(registry: string, env = process.env): boolean {
  const path = authFilePath(env);
  const file = readAuthFile(path);
  if (!file?.auths) return false;
  let removed = false;
  for (const k of keysFor(registry)) if (k in file.auths) (delete file.auths[k], (removed = true));
  if (removed) writeAuthFile(path, file);
  return removed;
}
