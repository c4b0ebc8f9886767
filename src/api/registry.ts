// Registry logins for the library and the CLI (loaded on first use).
export type { LoginOptions } from '../registry/login.js';
import type { LoginOptions } from '../registry/login.js';

/** Checks the credentials against the registry, then stores them in $XDG_RUNTIME_DIR/containers/auth.json (podman's). */
export async function login(registry: string, opts: LoginOptions): Promise<{ registry: string; authFile: string }> {
  return (await import('../registry/login.js')).login(registry, opts);
}

/** Removes the stored credentials for the registry. */
export async function logout(registry: string): Promise<{ registry: string; authFile: string }> {
  return (await import('../registry/login.js')).logout(registry);
}
