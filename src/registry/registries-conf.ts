// registries.conf (containers-registries.conf(5), v2 format), read as podman
// reads it: CONTAINERS_REGISTRIES_CONF, else the user's
// $XDG_CONFIG_HOME/containers/registries.conf (or ~/.config/…), else
// /etc/containers/registries.conf. What nsbox uses of it:
// unqualified-search-registries, and [[registry]] entries with prefix,
// location, insecure, blocked and [[registry.mirror]].
// smol-toml parses it: TOML's arrays of tables, inline tables and string
// escapes are too many corners for a hand-written reader.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { NsboxError } from '../errors.js';

export interface Mirror {
  location: string;
  insecure: boolean;
}

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: Mirror[];
}

export interface RegistriesConf {
  /** The file read, or null when there is none. */
  path: string | null;
  searchRegistries: string[];
  registries: RegistryEntry[];
}

const EMPTY: RegistriesConf = { path: null, searchRegistries: [], registries: [] };

/** Which registries.conf applies, podman's order; null when none exists. */
export function registriesConfPath(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CONTAINERS_REGISTRIES_CONF) return env.CONTAINERS_REGISTRIES_CONF;
  if (process.getuid?.() !== 0) {
    const user = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'containers', 'registries.conf');
    if (existsSync(user)) return user;
  }
  const system = '/etc/containers/registries.conf';
  return existsSync(system) ? system : null;
}

function bad(path: string, why: string): NsboxError {
  return new NsboxError('REGISTRIES_CONF', `${path}: ${why}`, 'fix the file (containers-registries.conf(5), v2 format) or point CONTAINERS_REGISTRIES_CONF at another');
}

function str(v: unknown, path: string, what: string): string {
  if (typeof v !== 'string' || !v) throw bad(path, `${what} must be a non-empty string`);
  return v.replace(/\/+$/, '');
}

function bool(v: unknown, path: string, what: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw bad(path, `${what} must be true or false`);
  return v;
}

export function parseRegistriesConf(text: string, path: string): RegistriesConf {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw bad(path, `not valid TOML (${(err as Error).message.split('\n')[0]})`);
  }
  const search = doc['unqualified-search-registries'] ?? [];
  if (!Array.isArray(search)) throw bad(path, 'unqualified-search-registries must be a list of registry names');
  const searchRegistries = search.map((s, i) => str(s, path, `unqualified-search-registries[${i}]`));
  const list = doc.registry ?? [];
  if (!Array.isArray(list)) throw bad(path, 'registry must be an array of tables ([[registry]])');
  const registries = list.map((e: Record<string, unknown>, i): RegistryEntry => {
    const what = `[[registry]] #${i + 1}`;
    if (typeof e !== 'object' || e === null) throw bad(path, `${what} is not a table`);
    const location = e.location === undefined ? undefined : str(e.location, path, `${what} location`);
    const prefix = e.prefix === undefined ? location : str(e.prefix, path, `${what} prefix`);
    if (!prefix) throw bad(path, `${what} has neither prefix nor location`);
    const mirrorsRaw = e.mirror ?? [];
    if (!Array.isArray(mirrorsRaw)) throw bad(path, `${what} mirror must be an array of tables ([[registry.mirror]])`);
    const mirrors = mirrorsRaw.map((m: Record<string, unknown>, j) => ({ location: str(m?.location, path, `${what} mirror #${j + 1} location`), insecure: bool(m?.insecure, path, `${what} mirror #${j + 1} insecure`) }));
    return { prefix, location: location ?? prefix, insecure: bool(e.insecure, path, `${what} insecure`), blocked: bool(e.blocked, path, `${what} blocked`), mirrors };
  });
  return { path, searchRegistries, registries };
}

export function loadRegistriesConf(env: NodeJS.ProcessEnv = process.env): RegistriesConf {
  const path = registriesConfPath(env);
  if (!path) return EMPTY;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw bad(path, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseRegistriesConf(text, path);
}

/** Does `prefix` match the image `name` (REGISTRY/REPOSITORY): whole components, or `*.domain` for its subdomains. */
function matches(prefix: string, name: string): boolean {
  if (prefix.startsWith('*.')) {
    const host = name.split('/')[0]!;
    return host.endsWith(prefix.slice(1));
  }
  return name === prefix || name.startsWith(`${prefix}/`);
}

/** The [[registry]] entry for REGISTRY/REPOSITORY: the longest matching prefix, as podman chooses. */
export function findRegistryEntry(conf: RegistriesConf, name: string): RegistryEntry | null {
  let best: RegistryEntry | null = null;
  for (const e of conf.registries) if (matches(e.prefix, name) && (!best || e.prefix.length > best.prefix.length)) best = e;
  return best;
}

/** One place an image can be fetched from: REGISTRY/REPOSITORY after the location rewrite. */
export interface Endpoint {
  /** REGISTRY/REPOSITORY to fetch. */
  name: string;
  insecure: boolean;
  mirror: boolean;
}

/**
 * Where to fetch REGISTRY/REPOSITORY from: its mirrors in order, then its
 * location (the name itself without an entry). A blocked registry is refused.
 */
export function endpointsFor(conf: RegistriesConf, name: string, o: { mirrors: boolean }): Endpoint[] {
  const e = findRegistryEntry(conf, name);
  if (!e) return [{ name, insecure: false, mirror: false }];
  if (e.blocked) throw new NsboxError('REGISTRY_BLOCKED', `${name} is blocked by ${conf.path} (its [[registry]] prefix ${JSON.stringify(e.prefix)} says blocked = true)`, 'use another registry, or remove `blocked = true` from that entry');
  const rest = e.prefix.startsWith('*.') ? '' : name.slice(e.prefix.length);
  const at = (location: string) => (e.prefix.startsWith('*.') ? name : location + rest);
  const out: Endpoint[] = o.mirrors ? e.mirrors.map((m) => ({ name: at(m.location), insecure: m.insecure, mirror: true })) : [];
  out.push({ name: at(e.location), insecure: e.insecure, mirror: false });
  return out;
}
