// The Debian mirrors this machine's apt uses, read from /etc/apt/sources.list
// and /etc/apt/sources.list.d/*.list|*.sources (one-line and deb822 formats),
// so that rootfs builds go where the machine's network lets apt go.
// Overrides: NSBOX_DEBIAN_MIRROR (the main archive) and
// NSBOX_DEBIAN_SECURITY_MIRROR (the security archive; empty string = none).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_MAIN = 'http://deb.debian.org/debian';
const DEFAULT_SECURITY = 'http://deb.debian.org/debian-security';

/** [{ types: ['deb'], uris: [...], suites: [...], components: [...] }] */
export function readAptSources(aptDir = '/etc/apt') {
  const out = [];
  const files = [[join(aptDir, 'sources.list'), 'list']];
  let names = [];
  try {
    names = readdirSync(join(aptDir, 'sources.list.d')).sort();
  } catch {
    // no directory
  }
  for (const n of names) {
    if (n.endsWith('.list')) files.push([join(aptDir, 'sources.list.d', n), 'list']);
    else if (n.endsWith('.sources')) files.push([join(aptDir, 'sources.list.d', n), 'sources']);
  }
  for (const [file, kind] of files) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    if (kind === 'list') out.push(...parseOneLine(text));
    else out.push(...parseDeb822(text));
  }
  return out;
}

function parseOneLine(text) {
  const out = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    // deb [opt=val ...] uri suite [component ...]
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ types: [m[1]], uris: [m[2]], suites: [m[3]], components: m[4].split(/\s+/).filter(Boolean) });
  }
  return out;
}

function parseDeb822(text) {
  const out = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = {};
    let last = null;
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) {
        fields[last] += ` ${raw.trim()}`;
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1].toLowerCase();
        fields[last] = m[2];
      }
    }
    if (!fields.uris || !fields.suites) continue;
    if ((fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const words = (s) => (s ?? '').split(/\s+/).filter(Boolean);
    out.push({ types: words(fields.types || 'deb'), uris: words(fields.uris), suites: words(fields.suites), components: words(fields.components) });
  }
  return out;
}

/**
 * The main and security archive URIs for Debian `codename` (e.g. bookworm).
 * Only sources that are Debian archives count (a URI path ending in
 * /debian or /debian-security, or a suite of this codename); the
 * deb.debian.org defaults apply when the host has none.
 */
export function debianMirrors(codename, { aptDir = '/etc/apt', env = process.env } = {}) {
  let main = null;
  let security = null;
  for (const s of readAptSources(aptDir)) {
    if (!s.types.includes('deb')) continue;
    for (const uri of s.uris) {
      const u = uri.replace(/\/+$/, '');
      const isSecurity = /debian-security$/.test(u) || s.suites.some((x) => x === `${codename}-security` || x === `${codename}/updates`);
      const isDebian = /\/debian$/.test(u) || s.suites.some((x) => x === codename || x === `${codename}-updates`);
      if (isSecurity) security ??= u;
      else if (isDebian) main ??= u;
    }
  }
  const fromHost = main !== null;
  if (env.NSBOX_DEBIAN_MIRROR) main = env.NSBOX_DEBIAN_MIRROR.replace(/\/+$/, '');
  main ??= DEFAULT_MAIN;
  if (env.NSBOX_DEBIAN_SECURITY_MIRROR !== undefined) security = env.NSBOX_DEBIAN_SECURITY_MIRROR.replace(/\/+$/, '') || null;
  // Without a host security source, add the default one only when the main
  // archive is the default too (the network may reach only the host's mirror).
  else if (security === null && !fromHost && !env.NSBOX_DEBIAN_MIRROR) security = DEFAULT_SECURITY;
  return { main, security };
}

/** mmdebstrap/sources.list lines: the suite, -updates, and -security if known. */
export function debianSourceLines(codename, opts = {}) {
  const { main, security } = debianMirrors(codename, opts);
  const lines = [`deb ${main} ${codename} main`, `deb ${main} ${codename}-updates main`];
  if (security) lines.push(`deb ${security} ${codename}-security main`);
  return lines;
}

/**
 * mmdebstrap options shared by the Debian-based recipes: no man pages,
 * locales, docs (copyright files stay) or info, kept in
 * /etc/dpkg/dpkg.cfg.d for later installs; and a merged /usr by mmdebstrap's
 * own hook (usr-is-merged instead of usrmerge, which drags in perl).
 */
const DPKG_SHRINK = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/lintian/*',
];
const MERGED_USR_HOOK = '/usr/share/mmdebstrap/hooks/merged-usr';

export function slimDebianArgs() {
  return [...DPKG_SHRINK.map((o) => `--dpkgopt=${o}`), ...(existsSync(MERGED_USR_HOOK) ? [`--hook-dir=${MERGED_USR_HOOK}`] : [])];
}
