#!/usr/bin/env node
// Compiles nsbox's C (native-shims/) with the system C compiler into
// native-shims/build/: the shim library the FFI bindings load, the pause,
// the port forwarder and the test probe. It is the package's `install`
// script, so it runs wherever nsbox is installed (from the registry or a
// tarball): Node's standard library only, no devDependency.
//   node scripts/build-native.mjs              always compiles (install, npm rebuild)
//   node scripts/build-native.mjs --if-stale   skips when the outputs are newer than the sources
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
const src = join(root, 'native-shims');
const out = join(src, 'build');

/** A checkout has the TypeScript sources; the published package ships only dist/. */
export const isCheckout = existsSync(join(root, 'src')) && existsSync(join(root, 'tsconfig.json'));

const SYSTEM_DEPS = 'gcc and libc6-dev (Debian/Ubuntu: sudo apt-get install gcc libc6-dev)';
const RETRY = isCheckout ? 'then run `npm run build`' : 'then run `npm rebuild nsbox` in your project';

export class NativeBuildError extends Error {}

/** Each output and the sources it is made from (all relative to native-shims/). */
function targets() {
  const shimSources = readdirSync(join(src, 'shim'))
    .filter((f) => f.endsWith('.c'))
    .sort()
    .map((f) => join(src, 'shim', f));
  // Static binaries keep the pause under 1 MiB RSS and let it run in an
  // empty root; -s strips what only a debugger needs.
  return [
    { name: 'libnsbox-shim.so', sources: shimSources, flags: ['-O2', '-fPIC', '-shared'] },
    { name: 'pause', sources: [join(src, 'pause.c')], flags: ['-Os', '-static', '-s'] },
    { name: 'nsbox-probe', sources: [join(src, 'probe.c')], flags: ['-O2', '-static'] },
    { name: 'nsbox-forward', sources: [join(src, 'forward.c')], flags: ['-O2', '-static', '-s'] },
    // The per-pod keeper runs the shim's plans itself: the shim's sources are linked in.
    { name: 'nsbox-keeper', sources: [join(src, 'keeper', 'main.c'), join(src, 'keeper', 'log.c'), ...shimSources], flags: ['-O2', '-static', '-s'] },
    // The CLI's exec: one plan run from a small process instead of loading the FFI addon.
    { name: 'nsbox-exec', sources: [join(src, 'exec.c'), ...shimSources], flags: ['-O2', '-static', '-s'] },
    // Node-API addon: its napi_* symbols are resolved from the node binary when Node loads it.
    { name: 'nsbox-flock.node', sources: [join(src, 'flock-addon.c')], flags: ['-O2', '-fPIC', '-shared'] },
  ];
}

export const nativeOutputs = () => targets().map((t) => join(out, t.name));

function newestSource() {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return p === out ? [] : walk(p);
      return /\.[ch]$/.test(e.name) ? [statSync(p).mtimeMs] : [];
    });
  // This script holds the compiler flags: a change to it is a change to the build.
  return Math.max(statSync(self).mtimeMs, ...walk(src));
}

/** True when every output exists and is newer than every source. */
export function nativeUpToDate() {
  const outputs = nativeOutputs();
  if (!outputs.every((f) => existsSync(f))) return false;
  return Math.min(...outputs.map((f) => statSync(f).mtimeMs)) >= newestSource();
}

function findCompiler() {
  const candidates = [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean);
  for (const cc of candidates) {
    const r = spawnSync(cc, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return cc;
  }
  throw new NativeBuildError(`no C compiler found (tried ${candidates.join(', ')}): install ${SYSTEM_DEPS}, ${RETRY}`);
}

function canLinkStatic(cc) {
  const r = spawnSync(cc, ['-static', '-x', 'c', '-o', '/dev/null', '-'], {
    input: 'int main(void){return 0;}',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return !r.error && r.status === 0;
}

/** Runs the compiler; resolves with its exit code and everything it printed. */
function compile(cc, args) {
  return new Promise((resolve) => {
    const child = spawn(cc, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', (err) => resolve({ code: -1, output: err.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, output: Buffer.concat(chunks).toString('utf8') }));
  });
}

/** Runs jobs with at most `limit` at a time; resolves with their results in order. */
async function pooled(jobs, limit) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/**
 * Compiles every output (in parallel, one per core), each into a temporary
 * file renamed into place: a running supervisor that has the shim mapped
 * keeps its old copy instead of crashing on a file rewritten under it.
 */
export async function buildNative({ ifStale = false, log = (m) => console.log(`nsbox: ${m}`) } = {}) {
  if (ifStale && nativeUpToDate()) {
    // Current: stamp them, so a freshness check over the whole build (the
    // test runner compares the oldest output with the newest source) agrees.
    const now = new Date();
    for (const f of nativeOutputs()) utimesSync(f, now, now);
    log('native shims are up to date');
    return { built: false };
  }
  const started = Date.now();
  const cc = findCompiler();
  // Warnings are errors while the C is developed; a user's newer compiler
  // may warn about code that is fine, and must not fail their install.
  const warnings = ['-Wall', '-Wextra', '-Wshadow', '-Wformat=2', '-Wstrict-prototypes', ...(isCheckout ? ['-Werror'] : [])];
  // The pause runs in an empty root, where a dynamic binary finds no libc to load.
  if (!canLinkStatic(cc)) throw new NativeBuildError(`${cc} cannot link a static binary (no libc.a): install ${SYSTEM_DEPS}, ${RETRY}`);
  mkdirSync(out, { recursive: true });
  const jobs = targets().map((t) => async () => {
    const dest = join(out, t.name);
    const tmp = `${dest}.tmp-${process.pid}`;
    const args = ['-std=gnu11', ...t.flags, ...warnings, '-o', tmp, ...t.sources];
    const r = await compile(cc, args);
    if (r.code !== 0) {
      rmSync(tmp, { force: true });
      return { t, r };
    }
    renameSync(tmp, dest);
    return { t, r };
  });
  const results = await pooled(jobs, Math.max(1, availableParallelism()));
  for (const { r } of results) if (r.output.trim()) process.stderr.write(r.output);
  const failed = results.filter(({ r }) => r.code !== 0);
  if (failed.length) {
    const names = failed.map(({ t }) => t.sources.map((s) => relative(root, s)).join(' ')).join('; ');
    throw new NativeBuildError(`${cc} failed to compile ${names} (its messages are above): it needs ${SYSTEM_DEPS}; fix that, ${RETRY}`);
  }
  log(`native shims built with ${cc} in ${((Date.now() - started) / 1000).toFixed(1)} s (${relative(root, out)}/)`);
  return { built: true };
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(self);
if (invokedDirectly) {
  try {
    await buildNative({ ifStale: process.argv.includes('--if-stale') });
  } catch (err) {
    console.error(`nsbox: ${err instanceof NativeBuildError ? err.message : err.stack}`);
    process.exit(1);
  }
}
