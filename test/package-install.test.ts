// The package as its users get it: `npm pack` of this tree, installed with
// `npm install ./nsbox-0.1.0.tgz` into scratch projects (its dependencies
// come from the npm registry, or npm's cache), then used from there: a pod
// through the library and through `npx nsbox`, and `npx nsbox check`.
// Rootless in the rootless run, as root in the root run. It also breaks the
// install on purpose (no shim, a corrupt shim, install scripts skipped) and
// checks that the fix nsbox names repairs it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { list } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupRoot, cliPath, repoRoot, tempRoot, testMode } from './helpers/env.js';
import { podDirs } from './helpers/nsbox.js';

const uid = process.getuid!();
const scratch = mkdtempSync(join(tmpdir(), 'nsbox-package-'));
const stateRoot = tempRoot();
const NPM_TIMEOUT = 240_000;
/** npm on a loaded 2-core machine: minutes, not seconds. */
const TEST_TIMEOUT = 300_000;

/**
 * What npm and the installed CLI see: no npm_* variables of the `npm test`
 * that may have started us (npm reads npm_config_* as its settings), the
 * state root of this file, and npm's usual network settings.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_')) env[k] = v;
  return { ...env, NSBOX_ROOT: stateRoot, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Everything, for assertion messages. */
  all: string;
}

function run(cmd: string, args: string[], cwd: string, timeout = 60_000): Ran {
  const started = performance.now();
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  const why = r.error ? `\n${cmd} did not run: ${r.error.message}` : '';
  const all = `$ ${cmd} ${args.join(' ')} (in ${cwd}, exit ${r.status ?? r.signal})\n${r.stdout ?? ''}${r.stderr ?? ''}${why}`;
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms, all };
}

/** A scratch project that depends on nothing yet. */
function newProject(name: string): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }, null, 2) + '\n');
  // The library as a test suite would use it: create, exec, remove.
  writeFileSync(
    join(dir, 'use-library.mjs'),
    `import { fileURLToPath } from 'node:url';
const where = fileURLToPath(import.meta.resolve('nsbox'));
try {
  const { createPod } = await import('nsbox');
  const pod = await createPod({ name: process.argv[2] });
  try {
    const r = await pod.exec(['sh', '-c', 'echo "$((6 * 7))"; tr "\\\\0" "\\\\n" < /proc/1/cmdline; id -u']);
    console.log(JSON.stringify({ where, mapping: pod.record.mapping, ...r }));
  } finally {
    await pod.remove({ force: true });
  }
} catch (err) {
  console.log(JSON.stringify({ where, error: err.code ?? 'ERROR', message: err.message, hint: err.hint }));
  process.exitCode = 1;
}
`,
  );
  return dir;
}

let tarball = '';
let packedFiles: string[] = [];

beforeAll(() => {
  // --ignore-scripts: `prepare` would rebuild dist/ in place while other test
  // files run from it; `npm test` built this tree before vitest started.
  const r = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], repoRoot, NPM_TIMEOUT);
  expect(r.code, r.all).toBe(0);
  const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(scratch, info!.filename);
  expect(existsSync(tarball), r.all).toBe(true);
  packedFiles = info!.files.map((f) => f.path).sort();
}, NPM_TIMEOUT);

afterAll(() => {
  // Pods a failed test left: removed with the tree's own CLI (same state format).
  const ls = spawnSync(process.execPath, [cliPath, '--root', stateRoot, 'pod', 'ls', '-q'], { encoding: 'utf8', timeout: 30_000 });
  for (const id of (ls.stdout ?? '').split('\n').filter(Boolean)) {
    spawnSync(process.execPath, [cliPath, '--root', stateRoot, 'pod', 'rm', '-f', id], { timeout: 30_000 });
  }
  cleanupRoot(stateRoot);
  rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
}, 120_000);

describe('the packed tarball', () => {
  it('holds the built dist/, the C sources and the native build script, and no tests, sources, source maps or binaries', async () => {
    // What is really in the file, not only what npm says it packed.
    const entries: string[] = [];
    await list({ file: tarball, onReadEntry: (e) => entries.push(e.path.replace(/^package\//, '')) });
    expect(entries.sort()).toEqual(packedFiles);
    for (const needed of [
      'package.json',
      'README.md',
      'SECURITY.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/nsbox.cjs',
      'native-shims/keeper/main.c',
      'dist/check/check.js',
      'dist/image/extract-worker.js',
      'dist/copy/worker.js',
      'native-shims/pause.c',
      'native-shims/forward.c',
      'native-shims/probe.c',
      'native-shims/shim/plan.h',
      'native-shims/shim/spawn.c',
      'scripts/build-native.mjs',
      'seccomp/default.json',
    ]) {
      expect(entries, needed).toContain(needed);
    }
    expect(entries.filter((f) => f.startsWith('test/'))).toEqual([]);
    expect(entries.filter((f) => f.startsWith('src/') || f.endsWith('.map'))).toEqual([]);
    // Built where it is installed, for that machine's libc.
    expect(entries.filter((f) => f.startsWith('native-shims/build/'))).toEqual([]);
    expect(entries.filter((f) => f.startsWith('scripts/'))).toEqual(['scripts/build-native.mjs']);
  }, TEST_TIMEOUT);

  it('ships only the code that runs: each dist/ module is loaded by the library, a bundle or a worker (extract, cp)', () => {
    // Started by path: the bin and the workers; imported: the library.
    const roots = ['dist/index.js', 'dist/cli/nsbox.cjs', 'dist/image/extract-worker.js', 'dist/copy/worker.js'];
    const loaded = new Set<string>();
    const todo = [...roots];
    while (todo.length) {
      const file = todo.pop()!;
      if (loaded.has(file)) continue;
      loaded.add(file);
      for (const m of readFileSync(join(repoRoot, file), 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])(\.\.?\/[^'"]+)\1/g)) todo.push(posix.join(posix.dirname(file), m[2]!));
    }
    for (const root of roots) expect(packedFiles, root).toContain(root);
    // A type-only module compiles to an empty `export {};`: there is nothing to load.
    const typeOnly = (f: string) => readFileSync(join(repoRoot, f), 'utf8').replace(/^\/\/.*$/gm, '').trim() === 'export {};';
    expect(packedFiles.filter((f) => /\.m?js$/.test(f) && f.startsWith('dist/') && !loaded.has(f) && !typeOnly(f))).toEqual([]);
  });
});

describe('npm install ./nsbox-0.1.0.tgz in a project', () => {
  let project = '';
  let installed = '';
  let install: Ran;
  const buildDir = () => join(installed, 'native-shims', 'build');

  beforeAll(() => {
    project = newProject('consumer');
    install = run('npm', ['install', '--prefer-offline', '--foreground-scripts', tarball], project, NPM_TIMEOUT);
    expect(install.code, install.all).toBe(0);
    installed = join(project, 'node_modules', 'nsbox');
    console.log(`npm install of the tarball took ${(install.ms / 1000).toFixed(1)} s (${testMode})`);
  }, NPM_TIMEOUT);

  it('built the native shims in its install script, with no devDependency', () => {
    expect(install.all).toMatch(/nsbox: native shims built with \S+ in [\d.]+ s/);
    expect(readdirSync(buildDir()).sort()).toEqual(['libnsbox-shim.so', 'nsbox-exec', 'nsbox-flock.node', 'nsbox-forward', 'nsbox-keeper', 'nsbox-probe', 'pause']);
    for (const dev of ['typescript', 'esbuild', 'vitest']) expect(existsSync(join(project, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(installed, 'src'))).toBe(false);
  }, TEST_TIMEOUT);

  it('runs a pod through the library (import { createPod } from "nsbox")', () => {
    const r = run(process.execPath, ['use-library.mjs', 'consumer-lib'], project);
    expect(r.code, r.all).toBe(0);
    const out = JSON.parse(r.stdout) as { where: string; mapping: string; exitCode: number; stdout: string };
    // The installed copy, not this tree.
    expect(realpathSync(out.where)).toBe(realpathSync(join(installed, 'dist', 'index.js')));
    expect(out).toMatchObject({ exitCode: 0, stdout: '42\n/pause\n0\n' });
    expect(out.mapping).toBe(testMode === 'root' ? 'root' : 'full');
    expect(podDirs(stateRoot)).toEqual([]);
  }, TEST_TIMEOUT);

  it('runs a pod through npx nsbox: pod create, exec, pod rm -f', () => {
    expect(realpathSync(join(project, 'node_modules', '.bin', 'nsbox'))).toBe(realpathSync(join(installed, 'dist', 'cli', 'nsbox.cjs')));
    const created = run('npx', ['--no', '--', 'nsbox', 'pod', 'create', '--name', 'consumer-cli'], project);
    expect(created.code, created.all).toBe(0);
    const id = created.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const exec = run('npx', ['--no', '--', 'nsbox', 'exec', 'consumer-cli', '--', 'sh', '-c', 'echo hi; tr "\\0" "\\n" < /proc/1/cmdline'], project);
    expect(exec.code, exec.all).toBe(0);
    expect(exec.stdout).toBe('hi\n/pause\n');
    const removed = run('npx', ['--no', '--', 'nsbox', 'pod', 'rm', '-f', 'consumer-cli'], project);
    expect(removed.code, removed.all).toBe(0);
    expect(removed.stdout.trim()).toBe(id);
    const ls = run('npx', ['--no', '--', 'nsbox', 'pod', 'ls', '-q'], project);
    expect(ls.stdout, ls.all).toBe('');
    expect(podDirs(stateRoot)).toEqual([]);
  }, TEST_TIMEOUT);

  it('npx nsbox check reports the installed artifacts, a pod and a container, and is quick', () => {
    const r = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
    expect(r.code, r.all).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; checks: { id: string; status: string; detail: string }[] };
    const byId = (id: string) => report.checks.find((c) => c.id === id)!;
    expect(report.ok).toBe(true);
    for (const [id, file] of [
      ['shim', 'libnsbox-shim.so'],
      ['pause', 'pause'],
      ['forwarder', 'nsbox-forward'],
      ['keeper', 'nsbox-keeper'],
      ['exec-helper', 'nsbox-exec'],
      ['flock-addon', 'nsbox-flock.node'],
      ['probe', 'nsbox-probe'],
    ] as const) {
      expect(byId(id), id).toMatchObject({ status: 'ok', detail: expect.stringContaining(join(buildDir(), file)) });
    }
    expect(byId('pod')).toMatchObject({ status: 'ok', detail: expect.stringContaining('(PID 1: /pause)') });
    expect(byId('container')).toMatchObject({ status: 'ok', detail: expect.stringContaining('on an overlayfs root') });
    // The check itself, without npx's own start: generous for a loaded 2-core machine.
    const direct = run(process.execPath, [join(installed, 'dist', 'cli', 'nsbox.cjs'), 'check'], project);
    expect(direct.code, direct.all).toBe(0);
    console.log(`nsbox check took ${direct.ms.toFixed(0)} ms (${testMode}); with npx ${r.ms.toFixed(0)} ms`);
    expect(direct.ms).toBeLessThan(15_000);
  }, TEST_TIMEOUT);

  it('without its shim: NATIVE_MISSING naming `npm rebuild nsbox`, check fails it; and npm rebuild nsbox repairs it', () => {
    const shim = join(buildDir(), 'libnsbox-shim.so');
    const aside = join(scratch, 'shim-aside.so');
    renameSync(shim, aside);
    try {
      const created = run('npx', ['--no', '--', 'nsbox', 'pod', 'create', '--name', 'no-shim'], project);
      expect(created.code, created.all).toBe(125);
      expect(created.stderr).toContain(`native shim ${shim} is missing`);
      expect(created.stderr).toContain('run `npm rebuild nsbox` in your project');
      expect(created.stderr).not.toContain('npm run build');
      const lib = run(process.execPath, ['use-library.mjs', 'no-shim'], project);
      expect(JSON.parse(lib.stdout), lib.all).toMatchObject({ error: 'NATIVE_MISSING', hint: expect.stringContaining('npm rebuild nsbox') });
      const check = run('npx', ['--no', '--', 'nsbox', 'check'], project);
      expect(check.code, check.all).toBe(1);
      expect(check.stdout).toContain(`✘ native shim: ${shim} is missing — fix: run \`npm rebuild nsbox\``);
      expect(check.stdout).toContain('✘ pod creation: not tried: the native shim must work first');
      expect(check.stdout).toContain('rootless pods cannot run here');
    } finally {
      rmSync(aside, { force: true });
    }
    // The fix it names, as a user would run it.
    const rebuilt = run('npm', ['rebuild', 'nsbox', '--foreground-scripts'], project, NPM_TIMEOUT);
    expect(rebuilt.code, rebuilt.all).toBe(0);
    expect(rebuilt.all).toContain('nsbox: native shims built with');
    const check = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
    expect(check.code, check.all).toBe(0);
    const lib = run(process.execPath, ['use-library.mjs', 'rebuilt'], project);
    expect(JSON.parse(lib.stdout), lib.all).toMatchObject({ exitCode: 0, stdout: '42\n/pause\n0\n' });
  }, TEST_TIMEOUT);

  it('with a corrupt shim: check says it does not load, and no pod is tried', () => {
    const shim = join(buildDir(), 'libnsbox-shim.so');
    const good = join(scratch, 'shim-good.so');
    copyFileSync(shim, good);
    try {
      writeFileSync(shim, 'not a shared object\n');
      const r = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
      expect(r.code, r.all).toBe(1);
      const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string; fix?: string }[] };
      const shimCheck = report.checks.find((c) => c.id === 'shim')!;
      expect(shimCheck).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${shim} does not load (`), fix: expect.stringContaining('npm rebuild nsbox') });
      expect(report.checks.find((c) => c.id === 'pod')).toMatchObject({ status: 'fail', detail: 'not tried: the native shim must work first' });
      // The other artifacts are still reported one by one.
      expect(report.checks.find((c) => c.id === 'pause')!.status).toBe('ok');
    } finally {
      renameSync(good, shim);
    }
    const again = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
    expect(again.code, again.all).toBe(0);
  }, TEST_TIMEOUT);

  it('without the FFI addon (npm install --omit=optional): check names that, not the shim', () => {
    const scope = join(project, 'node_modules', '@yuuang');
    const addons = readdirSync(scope);
    expect(addons.length, 'ffi-rs installed no prebuilt addon').toBeGreaterThan(0);
    const aside = join(scratch, 'addons-aside');
    renameSync(scope, aside);
    try {
      const r = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
      expect(r.code, r.all).toBe(1);
      const report = JSON.parse(r.stdout) as { checks: { id: string; status: string; detail: string; fix?: string }[] };
      expect(report.checks.find((c) => c.id === 'shim')).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('the FFI addon that loads it does not load'),
        fix: expect.stringContaining('without --omit=optional'),
      });
    } finally {
      renameSync(aside, scope);
    }
    const again = run('npx', ['--no', '--', 'nsbox', 'check', '--format', 'json'], project);
    expect(again.code, again.all).toBe(0);
  }, TEST_TIMEOUT);
});

describe('npm install --ignore-scripts ./nsbox-0.1.0.tgz', () => {
  it('fails at the first pod, not silently, with a fix that works: npm rebuild nsbox', () => {
    const project = newProject('no-scripts');
    const install = run('npm', ['install', '--prefer-offline', '--ignore-scripts', tarball], project, NPM_TIMEOUT);
    expect(install.code, install.all).toBe(0);
    const shim = join(project, 'node_modules', 'nsbox', 'native-shims', 'build', 'libnsbox-shim.so');
    expect(existsSync(shim)).toBe(false);
    const created = run('npx', ['--no', '--', 'nsbox', 'pod', 'create', '--name', 'no-scripts'], project);
    expect(created.code, created.all).toBe(125);
    expect(created.stderr).toContain(`native shim ${shim} is missing`);
    expect(created.stderr).toContain('npm skips nsbox\'s install script with --ignore-scripts');
    const check = run('npx', ['--no', '--', 'nsbox', 'check'], project);
    expect(check.code, check.all).toBe(1);
    for (const title of ['native shim', 'pause', 'port forwarder']) expect(check.stdout).toContain(`✘ ${title}: `);
    expect(check.stdout).toContain('⚠ test probe: ');
    // The fix, as the hint gives it.
    const rebuilt = run('npm', ['rebuild', 'nsbox'], project, NPM_TIMEOUT);
    expect(rebuilt.code, rebuilt.all).toBe(0);
    const lib = run(process.execPath, ['use-library.mjs', 'after-rebuild'], project);
    expect(JSON.parse(lib.stdout), lib.all).toMatchObject({ exitCode: 0, stdout: '42\n/pause\n0\n' });
    expect(podDirs(stateRoot)).toEqual([]);
  }, TEST_TIMEOUT);
});

it('runs as the user the suite runs as', () => {
  // The rootless run is unprivileged for real, not root pretending.
  expect(uid === 0).toBe(testMode === 'root');
});
