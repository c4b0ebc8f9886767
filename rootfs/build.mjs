// Builds rootfs tarballs from the recipes in rootfs/<name>/recipe.mjs and
// caches them by a hash of the recipe.
//
//   import { buildRootfs } from './rootfs/build.mjs';
//   const tar = await buildRootfs('busybox');        // -> ~/.cache/nsbox/rootfs/busybox-<hash>.tar
//
// Cache: $XDG_CACHE_HOME/nsbox/rootfs (default ~/.cache/nsbox/rootfs), one
// `<name>-<hash>.tar` per recipe version, where hash is the sha256 of the
// recipe's files (rootfs/<name>/**, minus *.md), of the shared helpers
// (rootfs/lib/**), of BUILDER_VERSION and of the CPU architecture. A cached
// tarball is returned as is (no rebuild, mtime untouched) unless `force`.
//
// Atomic: a recipe writes into `.tmp-<name>-<hash>-<pid>-<random>.tar` in the
// cache directory, with a scratch directory next to it; the tarball is checked
// (readable tar, required paths, users) and renamed into place only when
// everything succeeded. On failure, or when `signal` aborts (the CLI wires
// SIGINT/SIGTERM to it), child processes get SIGTERM (SIGKILL after a grace
// period), the temp file and scratch directory are removed, and nothing is
// left in the cache. Temp files of builders that died without cleaning up
// (SIGKILL) are removed by the next build in the same cache directory.
//
// A recipe module exports:
//   description: string
//   tools?: [{ cmd, pkg }] | (ctx) => [{ cmd, pkg }]   host tools it needs (Debian package names)
//   verify?: { paths?: string[], users?: string[], groups?: string[], rootOwned?: boolean }
//   build(ctx): Promise<void>                          writes the tarball to ctx.out
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants as fsConstants,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  lstatSync,
} from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { list as tarList } from 'tar';
import { which } from '../scripts/lib/system-packages.mjs';
import { debianSourceLines } from './lib/debian.mjs';
import { writeRootfsTar } from './lib/tar-writer.mjs';

/** Bump when a change to this file changes what recipes produce. */
export const BUILDER_VERSION = '1';
export const RECIPES_DIR = dirname(fileURLToPath(import.meta.url));
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TMP_PREFIX = '.tmp-';
const KILL_GRACE_MS = 20_000;
const HEARTBEAT_MS = 10_000;

export class RootfsError extends Error {
  constructor(message, { code = 'EROOTFS', details = [] } = {}) {
    super(message);
    this.name = 'RootfsError';
    this.code = code;
    /** Last lines of a failed command's output, for context. */
    this.details = details;
  }
}

export function defaultCacheDir(env = process.env) {
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'nsbox', 'rootfs');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = '';
    }
  }
  if (!home) throw new RootfsError('no cache directory: set XDG_CACHE_HOME or HOME, or pass --cache-dir');
  return join(home, '.cache', 'nsbox', 'rootfs');
}

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

/** Names of the recipes in recipesDir (directories with a recipe.mjs). */
export function listRecipes(recipesDir = RECIPES_DIR) {
  return readdirSync(recipesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'lib' && NAME_RE.test(d.name) && existsSync(join(recipesDir, d.name, 'recipe.mjs')))
    .map((d) => d.name)
    .sort();
}

function recipeDirOf(name, recipesDir) {
  if (!NAME_RE.test(name) || name === 'lib') throw new RootfsError(`invalid recipe name: ${JSON.stringify(name)}`);
  const dir = join(recipesDir, name);
  if (!existsSync(join(dir, 'recipe.mjs'))) {
    let known = [];
    try {
      known = listRecipes(recipesDir);
    } catch {
      // no recipes directory
    }
    throw new RootfsError(`unknown rootfs recipe ${name} (known: ${known.join(', ') || 'none'}; looked in ${recipesDir})`);
  }
  return dir;
}

function walkFiles(dir, base = dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const d of entries) {
    const p = join(dir, d.name);
    if (d.isDirectory()) walkFiles(p, base, out);
    else out.push(relative(base, p));
  }
  return out;
}

/** { hash (64 hex), short (16 hex) } of the recipe `name`. */
export function recipeHash(name, { recipesDir = RECIPES_DIR } = {}) {
  const dir = recipeDirOf(name, recipesDir);
  const h = createHash('sha256');
  h.update(`nsbox-rootfs\0builder ${BUILDER_VERSION}\0arch ${process.arch}\0`);
  const add = (root, label) => {
    for (const rel of walkFiles(root).filter((f) => !f.endsWith('.md')).sort()) {
      const p = join(root, rel);
      const st = lstatSync(p);
      const body = st.isSymbolicLink() ? Buffer.from(`symlink:${readlinkSync(p)}`) : readFileSync(p);
      h.update(`${label}/${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0${body.length}\0`);
      h.update(body);
    }
  };
  add(dir, name);
  add(join(recipesDir, 'lib'), 'lib');
  const hash = h.digest('hex');
  return { hash, short: hash.slice(0, 16) };
}

/** Where the tarball of `name` is (or would be) cached. */
export function cachedTarballPath(name, { recipesDir = RECIPES_DIR, cacheDir = defaultCacheDir() } = {}) {
  return join(cacheDir, `${name}-${recipeHash(name, { recipesDir }).short}.tar`);
}

// Temp files of this process, removed if the process exits mid-build.
const activeTemps = new Set();
let exitHookInstalled = false;
function trackTemp(p) {
  activeTemps.add(p);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const t of activeTemps) rmSync(t, { recursive: true, force: true });
    });
  }
}
function removeTemp(p) {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch {
    // best effort; the next build removes stale temps
  }
  activeTemps.delete(p);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Removes `.tmp-*-<pid>-*` entries whose builder process is gone. */
function removeStaleTemps(cacheDir, log) {
  for (const n of readdirSync(cacheDir)) {
    if (!n.startsWith(TMP_PREFIX)) continue;
    const m = /-(\d+)-[0-9a-f]{8}\.(tar|d)$/.exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
    rmSync(join(cacheDir, n), { recursive: true, force: true });
    log?.(`removed a stale temp from an interrupted build: ${n}`);
  }
}

function fmtBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}
function fmtSecs(ms) {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function defaultLog(line) {
  process.stderr.write(`${line}\n`);
}

/**
 * Builds (or finds in the cache) the tarball of recipe `name`; returns its path.
 * opts: { cacheDir, force, recipesDir, out, log (fn(line) | false), signal (AbortSignal),
 *         install (as root: apt-get install missing tools; default true), mmdebstrapMode }
 */
export async function buildRootfs(name, opts = {}) {
  return (await buildRootfsDetails(name, opts)).path;
}

/**
 * Like buildRootfs, returning { name, path, cachePath, hash, cached, bytes, seconds }.
 */
export async function buildRootfsDetails(name, opts = {}) {
  const started = Date.now();
  const recipesDir = resolve(opts.recipesDir ?? RECIPES_DIR);
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir());
  const sink = opts.log === false ? null : typeof opts.log === 'function' ? opts.log : defaultLog;
  const recipeDir = recipeDirOf(name, recipesDir);
  const { hash, short } = recipeHash(name, { recipesDir });
  const cachePath = join(cacheDir, `${name}-${short}.tar`);
  mkdirSync(cacheDir, { recursive: true });

  let lastLog = Date.now();
  let phase = 'starting';
  const log = (msg) => {
    lastLog = Date.now();
    sink?.(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${name}: ${msg}`);
  };
  const finish = (path, cached) => {
    const bytes = statSync(path).size;
    const ms = Date.now() - started;
    let outPath = path;
    if (opts.out) outPath = copyOut(path, resolve(opts.out));
    sink?.(`${name}: ${cached ? 'cached' : 'built'} ${outPath} (${fmtBytes(bytes)}) in ${fmtSecs(ms)}`);
    return { name, path: outPath, cachePath: path, hash, cached, bytes, seconds: ms / 1000 };
  };

  if (!opts.force && existsSync(cachePath)) return finish(cachePath, true);

  const signal = opts.signal;
  const throwIfAborted = () => {
    if (signal?.aborted) throw abortError(signal);
  };
  throwIfAborted();
  removeStaleTemps(cacheDir, log);

  const recipe = await import(pathToFileURL(join(recipeDir, 'recipe.mjs')).href);
  if (typeof recipe.build !== 'function') throw new RootfsError(`recipe ${name}: recipe.mjs exports no build(ctx)`);

  const stem = `${TMP_PREFIX}${name}-${short}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const out = join(cacheDir, `${stem}.tar`);
  const work = join(cacheDir, `${stem}.d`);
  trackTemp(out);
  trackTemp(work);
  const children = new Set();
  const heartbeat = setInterval(() => {
    if (Date.now() - lastLog >= HEARTBEAT_MS) log(`still ${phase}...`);
  }, 1000);
  heartbeat.unref();
  const onAbort = () => {
    for (const c of children) terminate(c);
  };
  signal?.addEventListener('abort', onAbort);

  const ctx = {
    name,
    hash,
    recipeDir,
    out,
    work,
    isRoot: process.getuid() === 0,
    arch: process.arch,
    signal,
    log,
    /** Sets what the heartbeat says while a step prints nothing. */
    phase(text) {
      phase = text;
      log(text);
    },
    throwIfAborted,
    run: (cmd, args, runOpts = {}) => runChild(cmd, args, { ...runOpts, signal, children, log }),
    /** Resolves the tool's path (installing its package as root), or throws naming the package. */
    requireTool: async (cmd, pkg) => (await requireTools([{ cmd, pkg }], { install: opts.install, log, ctxRun: ctx.run }))[0],
    writeTar: (file, entries, tarOpts) => writeRootfsTar(file, entries, tarOpts),
    debianSources: (codename) => debianSourceLines(codename),
    mmdebstrapMode: opts.mmdebstrapMode,
  };

  try {
    mkdirSync(work, { mode: 0o700 });
    const tools = typeof recipe.tools === 'function' ? recipe.tools(ctx) : recipe.tools ?? [];
    await requireTools(tools, { install: opts.install, log, ctxRun: ctx.run });
    throwIfAborted();
    ctx.phase(`building (recipe ${short}${recipe.description ? `: ${recipe.description}` : ''})`);
    await recipe.build(ctx);
    throwIfAborted();
    if (!existsSync(out)) throw new RootfsError(`recipe ${name} wrote no tarball`);
    phase = 'checking the tarball';
    await verifyTarball(out, recipe.verify ?? {}, name);
    throwIfAborted();
    const fd = openSync(out, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(out, cachePath);
    activeTemps.delete(out);
    fsyncDir(cacheDir);
    return finish(cachePath, false);
  } catch (e) {
    await Promise.all([...children].map((c) => terminate(c)));
    if (signal?.aborted && !(e instanceof RootfsError && e.code === 'ABORTED')) throw abortError(signal);
    throw e;
  } finally {
    clearInterval(heartbeat);
    signal?.removeEventListener('abort', onAbort);
    removeTemp(out);
    removeTemp(work);
  }
}

function abortError(signal) {
  const reason = signal.reason;
  const what = typeof reason === 'string' ? reason : reason instanceof Error ? reason.message : 'abort';
  return new RootfsError(`interrupted (${what}); no tarball was cached`, { code: 'ABORTED' });
}

function fsyncDir(dir) {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported everywhere; the rename is still atomic
  }
}

/** Copies the cached tarball to `dest` atomically (reflink where possible). */
function copyOut(src, dest) {
  if (resolve(src) === dest) return dest;
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  trackTemp(tmp);
  try {
    copyFileSync(src, tmp, fsConstants.COPYFILE_FICLONE);
    renameSync(tmp, dest);
  } finally {
    removeTemp(tmp);
  }
  return dest;
}

// ---------------------------------------------------------------------------
// Host tools

/**
 * requirements: [{ cmd, pkg }]. Returns the resolved paths. A missing tool is
 * a RootfsError naming it and its Debian package; as root (unless install is
 * false) missing packages are installed with apt-get first.
 */
export async function requireTools(requirements, { install, log = () => {}, ctxRun } = {}) {
  const find = () => requirements.map((r) => ({ ...r, path: which(r.cmd) }));
  let found = find();
  let missing = found.filter((r) => !r.path);
  if (missing.length === 0) return found.map((r) => r.path);
  const pkgs = [...new Set(missing.map((r) => r.pkg))];
  const isRoot = process.getuid() === 0;
  if (!isRoot || install === false || !which('apt-get')) {
    const r = missing[0];
    const more = missing.length > 1 ? ` (also missing: ${missing.slice(1).map((m) => m.cmd).join(', ')})` : '';
    throw new RootfsError(`${r.cmd} not found: ${isRoot ? '' : 'sudo '}apt-get install ${pkgs.join(' ')}${more}`, { code: 'ENOTOOL' });
  }
  log(`installing ${pkgs.join(' ')} with apt-get (missing: ${missing.map((m) => m.cmd).join(', ')})`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const run = ctxRun ?? ((cmd, args, o) => runChild(cmd, args, { ...o, log }));
  await run('apt-get', ['update', '-q'], { env, quiet: true });
  await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...pkgs], { env, quiet: true });
  found = find();
  missing = found.filter((r) => !r.path);
  if (missing.length) throw new RootfsError(`${missing[0].cmd} still not found after apt-get install ${pkgs.join(' ')}`, { code: 'ENOTOOL' });
  return found.map((r) => r.path);
}

// ---------------------------------------------------------------------------
// Child processes

// Children run in their own process group (a new session), and are stopped
// as a group: mmdebstrap's main process ignores SIGTERM/SIGINT and waits for
// its workers, which stop and clean up their temp directory on the signal, as
// after a Ctrl-C in a terminal.
function signalGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // gone
    }
  }
}

function terminate(child) {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
    child.once('close', () => {
      clearTimeout(timer);
      res();
    });
    signalGroup(child, 'SIGTERM');
  });
}

/**
 * Runs cmd; resolves { stdout } (captured when `capture`), rejects with a
 * RootfsError carrying the last lines of output. Output lines go to
 * `onLine(line, stream)` if given, else to the log unless `quiet`.
 */
function runChild(cmd, args, { env, cwd, capture = false, quiet = false, onLine, signal, children, log }) {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:${SYSTEM_PATH}`, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children?.add(child);
    const tail = [];
    let stdout = '';
    const feed = (stream) => {
      let buf = '';
      return (chunk) => {
        if (stream === 'stdout' && capture) {
          stdout += chunk;
          return;
        }
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i).replace(/\r/g, '');
          buf = buf.slice(i + 1);
          if (!line.trim()) continue;
          tail.push(line);
          if (tail.length > 40) tail.shift();
          if (onLine) onLine(line, stream);
          else if (!quiet) log?.(line);
        }
      };
    };
    child.stdout.setEncoding('utf8').on('data', feed('stdout'));
    child.stderr.setEncoding('utf8').on('data', feed('stderr'));
    child.on('error', (e) => {
      children?.delete(child);
      rej(new RootfsError(e.code === 'ENOENT' ? `${cmd} not found` : `${cmd}: ${e.message}`));
    });
    child.on('close', (code, sig) => {
      children?.delete(child);
      if (signal?.aborted) return rej(abortError(signal));
      if (code === 0) return res({ stdout });
      const errLine = [...tail].reverse().find((l) => /^(E|error|fatal)[:\s]/i.test(l)) ?? tail[tail.length - 1];
      rej(new RootfsError(`${basename(cmd)} failed (${sig ? `signal ${sig}` : `exit ${code}`})${errLine ? `: ${errLine}` : ''}`, { details: tail }));
    });
  });
}

// ---------------------------------------------------------------------------
// Checking a built tarball

/**
 * Reads the tarball once: it must parse, contain `paths`, have `users` in
 * etc/passwd and `groups` in etc/group, and (rootOwned) every entry 0:0.
 */
export async function verifyTarball(file, { paths = [], users = [], groups = [], rootOwned = false } = {}, name = basename(file)) {
  const seen = new Set();
  const wanted = new Set(['etc/passwd', 'etc/group']);
  const contents = new Map();
  const badOwners = [];
  let count = 0;
  try {
    await tarList({
      file,
      strict: true,
      onReadEntry: (e) => {
        count++;
        const p = e.path.replace(/^(\.\/)+/, '').replace(/^\/+/, '').replace(/\/+$/, '');
        seen.add(p);
        if (rootOwned && (e.uid !== 0 || e.gid !== 0) && badOwners.length < 3) badOwners.push(`${p} (${e.uid}:${e.gid})`);
        if (wanted.has(p) && e.type === 'File') {
          const chunks = [];
          e.on('data', (c) => chunks.push(c));
          e.on('end', () => contents.set(p, Buffer.concat(chunks).toString('utf8')));
        }
      },
    });
  } catch (e) {
    throw new RootfsError(`${name}: the tarball does not read back: ${e.message}`);
  }
  if (count === 0) throw new RootfsError(`${name}: the tarball is empty`);
  const missing = paths.map((p) => p.replace(/^\/+/, '').replace(/\/+$/, '')).filter((p) => !seen.has(p));
  if (missing.length) throw new RootfsError(`${name}: the tarball lacks ${missing.map((p) => `/${p}`).join(', ')}`);
  const names = (file) => new Set((contents.get(file) ?? '').split('\n').map((l) => l.split(':')[0]).filter(Boolean));
  const u = names('etc/passwd');
  const g = names('etc/group');
  const noUser = users.filter((x) => !u.has(x));
  if (noUser.length) throw new RootfsError(`${name}: /etc/passwd lacks ${noUser.join(', ')}`);
  const noGroup = groups.filter((x) => !g.has(x));
  if (noGroup.length) throw new RootfsError(`${name}: /etc/group lacks ${noGroup.join(', ')}`);
  if (badOwners.length) throw new RootfsError(`${name}: entries not owned by 0:0: ${badOwners.join(', ')}`);
  return { entries: count };
}

// ---------------------------------------------------------------------------
// Helpers for recipes that use mmdebstrap

/** The mmdebstrap mode: 'unshare' (rootless; also used as root when it works) or 'root'. */
export function pickMmdebstrapMode(requested = process.env.NSBOX_MMDEBSTRAP_MODE) {
  if (requested) return requested;
  if (process.getuid() !== 0) return 'unshare';
  const r = spawnSync('unshare', ['--user', '--map-root-user', 'true'], { stdio: 'ignore' });
  return r.status === 0 ? 'unshare' : 'root';
}

/** For rootless mmdebstrap: a subordinate uid/gid range for the user, or a RootfsError. */
export function checkSubids() {
  let user;
  try {
    user = userInfo().username;
  } catch {
    user = String(process.getuid());
  }
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      // missing file: no range
    }
    const ok = text.split('\n').some((l) => {
      const [who, , count] = l.split(':');
      return (who === user || who === String(process.getuid())) && Number(count) >= 65536;
    });
    if (!ok) {
      throw new RootfsError(
        `no subordinate ${f.endsWith('uid') ? 'uid' : 'gid'} range of 65536 for ${user} in ${f} (rootless mmdebstrap needs one): ` +
          `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
        { code: 'ENOSUBID' },
      );
    }
  }
}

/**
 * A line handler for `mmdebstrap --verbose` output: shows its "I:"/"W:"/"E:"
 * lines as phases, and summarises apt/dpkg chatter as package counts, at most
 * every `every` ms.
 */
export function mmdebstrapProgress(ctx, { every = 3000 } = {}) {
  const counts = { downloaded: 0, unpacked: 0, configured: 0 };
  let lastStatus = 0;
  let changed = false;
  let lastShown = '';
  const show = (msg) => {
    if (msg === lastShown) return;
    lastShown = msg;
    ctx.log(msg);
  };
  const status = (force) => {
    if (!changed || (!force && Date.now() - lastStatus < every)) return;
    lastStatus = Date.now();
    changed = false;
    show(`  packages: ${counts.downloaded} downloaded, ${counts.unpacked} unpacked, ${counts.configured} set up`);
  };
  const QUIET = /^I: (using .* as tempdir|removing tempdir|chroot architecture|finding correct signed-by|automatically chosen format|done$)/;
  return (line) => {
    if (/^[IWE]: /.test(line)) {
      status(true);
      if (QUIET.test(line)) return;
      const text = line.length > 110 ? `${line.slice(0, 107)}...` : line;
      if (line.startsWith('I: ')) {
        ctx.phase(text.slice(3).replace(/\.\.\.$/, ''));
        lastShown = '';
      } else show(text);
      return;
    }
    if (/^Get:\d+ /.test(line)) counts.downloaded++;
    else if (/^Unpacking /.test(line)) counts.unpacked++;
    else if (/^Setting up /.test(line)) counts.configured++;
    else if (/^(Fetched |Need to get )/.test(line)) return show(`  ${line}`);
    else return;
    changed = true;
    status(false);
  };
}
