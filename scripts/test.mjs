#!/usr/bin/env node
// `npm test`: checks the system packages and the build, then runs the vitest
// suite. As root it runs the suite twice: rootless, as the unprivileged user
// nsbox-ci on a private copy of the tree, and then as root in place. As any
// other user it runs once, rootless, in place. Extra arguments go to vitest
// (`npm test -- test/pod-cli.test.ts`). The last line is `N passed, M failed`
// over every run; the exit code is non-zero if any run failed. A test that did
// not run (skipped, todo) fails the run unless SKIP_ALLOWED below names it
// with its reason; a full run (no arguments) also fails if a test file was not
// collected or fewer than MIN_TESTS_PER_MODE tests ran in a mode.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages as ensureSystemPackagesFor, isStaticExecutable, which } from './lib/system-packages.mjs';
import { ensureDockerClient } from './lib/docker-client.mjs';
import { endLeftovers } from './lib/leftovers.mjs';
import { randomBytes } from 'node:crypto';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const vitestArgs = process.argv.slice(2);
const isRoot = process.getuid() === 0;
const CI_USER = 'nsbox-ci';
const SUBID_RANGE = '100000-165535';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const USER_PATH = '/usr/local/bin:/usr/bin:/bin';

function say(message) {
  console.log(`nsbox test: ${message}`);
}

function die(message) {
  console.error(`nsbox test: ${message}`);
  process.exit(1);
}

function header(message) {
  console.log(`\n==== ${message} ====`);
}

// ---------------------------------------------------------------- cleanup

const cleanups = [];
function runCleanups() {
  while (cleanups.length) {
    const fn = cleanups.pop();
    try {
      fn();
    } catch (err) {
      console.error(`nsbox test: cleanup: ${err.message}`);
    }
  }
}
process.on('exit', runCleanups);

// Each vitest run is its own process group (vitest's workers included), so
// an interrupt ends all of it, not only the process we spawned.
let currentChild = null;
let interrupted = null;
/** Aborts a rootfs build in progress: the builder stops its processes and removes its temp files. */
let prebuildAbort = null;
function killGroup(child, sig) {
  try {
    process.kill(-child.pid, sig);
  } catch {
    // already gone
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    interrupted = sig;
    if (prebuildAbort) return prebuildAbort.abort();
    if (!currentChild) process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    const child = currentChild;
    killGroup(child, 'SIGTERM');
    setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
  });
}

// ------------------------------------------------------- system packages

const requirements = [
  { pkg: 'uidmap', provides: 'newuidmap, newgidmap', ok: () => which('newuidmap') && which('newgidmap') },
  { pkg: 'busybox-static', provides: 'a static /bin/busybox', ok: () => isStaticExecutable('/bin/busybox') },
  {
    pkg: 'util-linux',
    provides: isRoot ? 'unshare, runuser' : 'unshare',
    ok: () => which('unshare') && (!isRoot || which('runuser')),
  },
  { pkg: 'procps', provides: 'ps', ok: () => which('ps') },
  // test/nginx.test.ts builds the nginx rootfs (rootfs/nginx) with it.
  { pkg: 'mmdebstrap', provides: 'mmdebstrap', ok: () => which('mmdebstrap') },
  // test/network-pasta.test.ts: --network pasta
  { pkg: 'passt', provides: 'pasta', ok: () => which('pasta') },
  // The image archive and registry tests: the real peers write archives, push
  // fixtures and read back what nsbox pushed.
  { pkg: 'skopeo', provides: 'skopeo', ok: () => which('skopeo') },
  { pkg: 'docker-registry', provides: 'docker-registry (the distribution registry)', ok: () => which('docker-registry') },
  // test/pull.test.ts compresses zstd layers with it.
  { pkg: 'zstd', provides: 'zstd', ok: () => which('zstd') },
  // test/docker-compose.test.ts: compose 1.29 (Python) on the Docker API. Installed
  // without recommends, so Debian's docker.io daemon never comes with it.
  { pkg: 'docker-compose', provides: 'docker-compose', ok: () => which('docker-compose') },
  // test/docker-cli.test.ts: the service started by systemd's socket activation tool.
  { pkg: 'systemd', provides: 'systemd-socket-activate', ok: () => which('systemd-socket-activate') },
];

// pasta opens /dev/net/tun inside the pod's user namespace, where the file
// mode applies. Debian makes it 0666; some machines (this CI's) ship 0600,
// which limits pasta to root. For the rootless run the device gets Debian's
// mode, said out loud, and its own mode back at the end.
const TUN = '/dev/net/tun';
function openTunForRootlessRun() {
  let mode;
  try {
    mode = statSync(TUN).mode & 0o777;
  } catch {
    say(`${TUN} is missing: the pasta tests will say so and test the error path only`);
    return;
  }
  if (mode === 0o666) return;
  chmodSync(TUN, 0o666);
  say(`${TUN} is mode 0${mode.toString(8)}: set to 0666 (Debian's default) so that rootless pasta can be tested; restored at the end`);
  cleanups.push(() => chmodSync(TUN, mode));
}

function ensureSystemPackages() {
  ensureSystemPackagesFor(requirements, 'nsbox test');
}

// ------------------------------------------------------ rootfs tarballs

// The blog and nginx tests need the nginx and Ghost rootfs tarballs (Ghost's
// first build takes minutes). As root they are built once, here, into a
// cache both runs read, instead of once per user; the rootless run imports
// the same tarball as its own user, which is what it tests.
const SHARED_ROOTFS_CACHE = '/var/cache/nsbox-test/rootfs';
let sharedRootfsCache = null;

async function prebuildRootfs() {
  if (process.env.NSBOX_SKIP_BLOG === '1' && process.env.NSBOX_SKIP_NGINX === '1') return;
  header(`rootfs tarballs for the nginx and blog tests (cached in ${SHARED_ROOTFS_CACHE})`);
  mkdirSync(SHARED_ROOTFS_CACHE, { recursive: true, mode: 0o755 });
  chmodSync(SHARED_ROOTFS_CACHE, 0o755);
  chmodSync(dirname(SHARED_ROOTFS_CACHE), 0o755);
  const { buildRootfsDetails } = await import('../rootfs/build.mjs');
  prebuildAbort = new AbortController();
  for (const name of ['nginx', 'ghost']) {
    const started = Date.now();
    let d;
    try {
      d = await buildRootfsDetails(name, { cacheDir: SHARED_ROOTFS_CACHE, log: (m) => say(`${name}: ${m}`), signal: prebuildAbort.signal });
    } catch (err) {
      if (interrupted) process.exit(130);
      die(`building the ${name} rootfs failed: ${err.message} (NSBOX_SKIP_BLOG=1 NSBOX_SKIP_NGINX=1 skip the tests that need it)`);
    }
    chmodSync(d.path, 0o644);
    say(`${name}: ${d.path} (${d.cached ? 'cached' : `built in ${((Date.now() - started) / 1000).toFixed(0)} s`}, ${(d.bytes / 2 ** 20).toFixed(0)} MiB)`);
  }
  prebuildAbort = null;
  sharedRootfsCache = SHARED_ROOTFS_CACHE;
}

// ----------------------------------------------------------------- build

function newestMtime(dir, match) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'build') newest = Math.max(newest, newestMtime(p, match));
    } else if (e.isFile() && match(e.name)) {
      newest = Math.max(newest, statSync(p).mtimeMs);
    }
  }
  return newest;
}

function ensureBuild() {
  if (!existsSync(join(root, 'node_modules', 'vitest', 'vitest.mjs'))) die('vitest is not installed: run `npm install` first');
  const outputs = [join(root, 'dist', 'index.js'), join(root, 'native-shims', 'build', 'pause')];
  let reason = null;
  if (!outputs.every((f) => existsSync(f))) {
    reason = 'no build yet';
  } else {
    const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
    const sources = Math.max(
      newestMtime(join(root, 'src'), (n) => n.endsWith('.ts')),
      newestMtime(join(root, 'native-shims'), (n) => n.endsWith('.c') || n.endsWith('.h')),
    );
    if (sources > built) reason = 'sources changed since the last build';
  }
  if (!reason) return;
  header(`building (${reason}): node scripts/build.mjs`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: ['ignore', 'inherit', 'inherit'], cwd: root });
  if (r.status !== 0) die(`the build failed (exit ${r.status ?? r.signal}); fix it, then run npm test again`);
}

// ---------------------------------------------------------- running vitest

function runChild(cmd, args, opts) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    currentChild = child;
    child.on('error', (err) => {
      console.error(`nsbox test: ${cmd}: ${err.message}`);
    });
    child.on('close', (code, signal) => {
      currentChild = null;
      // Stragglers of the run (a worker vitest left behind) go with it.
      killGroup(child, 'SIGKILL');
      resolvePromise(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    });
  });
}

// ------------------------------------------------- tests that did not run

// Tests that may legitimately not run, with the reason the summary prints.
// Anything else that is skipped, pending or todo fails the run: a skipped
// test is never counted as passing. `file` is the test file's name, `title`
// matches the test's own title, `mode` is the mode it may be skipped in, and
// `when` (if given) must hold for the skip to be allowed.
const isCi = process.env.CI === 'true';
const SKIP_ALLOWED = [
  { file: 'bad-input.test.ts', title: /^a user without subuid ranges/, mode: 'rootless', reason: 'runs the CLI as nobody through runuser: needs root' },
  { file: 'bad-input.test.ts', title: /^rootless with a subuid range/, mode: 'root', reason: "checks the rootless subuid mapping; root's pods map ids 1:1" },
  { file: 'ci-environment.test.ts', title: /^rootless: /, mode: 'root', reason: "checks the rootless run's own environment" },
  { file: 'exec-view.test.ts', title: /^as root, /, mode: 'rootless', reason: "the view's lock is a root-mode property (rootless, the view holds only root-owned files)" },
  { file: 'state-dir.test.ts', title: /^is refused when another user owns it/, mode: 'rootless', reason: 'needs root to give the directory to another user' },
  {
    file: 'rootfs-recipes.test.ts',
    title: /^nginx rootfs \(slow, NSBOX_TEST_NGINX=1\)/,
    reason: 'opt-in outside CI (downloads from the Debian mirror, ~30 s); .ci/run sets NSBOX_TEST_NGINX=1',
    when: () => !isCi,
  },
  { file: 'blog.test.ts', title: /./, reason: 'NSBOX_SKIP_BLOG=1 was set (never allowed under CI=true)', when: () => !isCi && process.env.NSBOX_SKIP_BLOG === '1' },
  { file: 'nginx.test.ts', title: /./, reason: 'NSBOX_SKIP_NGINX=1 was set (never allowed under CI=true)', when: () => !isCi && process.env.NSBOX_SKIP_NGINX === '1' },
  { file: 'kube-blog.test.ts', title: /./, reason: 'NSBOX_SKIP_BLOG=1 was set (never allowed under CI=true)', when: () => !isCi && process.env.NSBOX_SKIP_BLOG === '1' },
];

// A full run (no vitest arguments) must collect every test file and at
// least this many tests per mode: tests that silently stop being collected
// or registered (an `if` around a describe, a broken import) fail the run.
// Raise it when tests are added; lower it only with the commit that removes tests.
const MIN_TESTS_PER_MODE = 711;

// `-t PATTERN` skips the tests it does not match: then skips are listed, not judged.
const nameFiltered = vitestArgs.some((a) => a === '-t' || /^-t./.test(a) || a.startsWith('--testNamePattern'));

/** The run's tests that did not run, each with the allowance that covers it (or null). */
function notRun(report, mode) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const name = file.name.slice(file.name.lastIndexOf('/') + 1);
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed' || t.status === 'failed') continue;
      const allowed = nameFiltered
        ? { reason: 'not matched by -t' }
        : SKIP_ALLOWED.find((a) => a.file === name && a.title.test(t.title) && (!a.mode || a.mode === mode) && (!a.when || a.when()));
      out.push({ file: name, title: t.title, status: t.status, allowed: allowed ?? null });
    }
  }
  return out;
}

/**
 * The run's failed tests, each with the first lines of its error. The
 * summary prints them, so the tail of a CI log names what failed.
 */
function failedTests(report) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const name = file.name.slice(file.name.lastIndexOf('/') + 1);
    const tests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of tests) out.push({ file: name, title: t.fullName ?? t.title, error: firstLines((t.failureMessages ?? []).join('\n')) });
    // A file that failed outside its tests (an import error, a failing hook).
    if (!tests.length && file.status === 'failed') out.push({ file: name, title: '(the file itself)', error: firstLines(file.message ?? '') });
  }
  return out;
}

function firstLines(text, lines = 4, chars = 600) {
  // Strip terminal colours; keep the message, not the stack.
  const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
  return plain.split('\n').filter((l) => l.trim() && !/^\s+at /.test(l)).slice(0, lines).join('\n    ').slice(0, chars);
}

/** Test files under test/ that the run did not report (not collected). */
function missingFiles(report, treeRoot) {
  const reported = new Set((report.testResults ?? []).map((f) => relative(treeRoot, f.name)));
  const expected = readdirSync(join(treeRoot, 'test')).filter((n) => n.endsWith('.test.ts')).map((n) => join('test', n));
  return expected.filter((f) => !reported.has(f));
}

function readCounts(jsonFile, exitCode, mode, treeRoot) {
  let passed = 0;
  let failed = 0;
  let total = 0;
  let ok = false;
  let skipped = [];
  let missing = [];
  let failures = [];
  try {
    const r = JSON.parse(readFileSync(jsonFile, 'utf8'));
    passed = Number(r.numPassedTests) || 0;
    failed = Number(r.numFailedTests) || 0;
    total = Number(r.numTotalTests) || 0;
    skipped = notRun(r, mode);
    failures = failedTests(r);
    if (vitestArgs.length === 0) missing = missingFiles(r, treeRoot);
    ok = true;
    // A failed file that never ran its tests (an import error, a failing
    // hook) counts as failed too, so the counts agree with the exit code.
    if (exitCode !== 0 && failed === 0) failed = Math.max(1, Number(r.numFailedTestSuites) || 0);
  } catch {
    failed = 1;
  }
  const problems = [];
  const refused = skipped.filter((t) => !t.allowed);
  if (refused.length) problems.push(`${refused.length} test(s) did not run and are not on the allowlist`);
  if (missing.length) problems.push(`test files not collected: ${missing.join(', ')}`);
  if (vitestArgs.length === 0 && ok && total < MIN_TESTS_PER_MODE) problems.push(`only ${total} tests in this mode, fewer than the floor of ${MIN_TESTS_PER_MODE}`);
  return { passed, failed, total, skipped, failures, problems, ok: ok && exitCode === 0 && problems.length === 0 };
}

function vitestCommand(treeRoot, jsonFile, args) {
  return [
    join(treeRoot, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile=${jsonFile}`,
    ...args,
  ];
}

// ------------------------------------------------------- the rootless user

function passwdEntry(name) {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const [, , uid, gid, , home, shell] = r.stdout.trim().split(':');
  return { uid: Number(uid), gid: Number(gid), home, shell };
}

function hasSubids(file, name, uid) {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .some((line) => {
        const owner = line.split(':')[0];
        return owner === name || owner === String(uid);
      });
  } catch {
    return false;
  }
}

function runAsRootOrDie(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PATH: SYSTEM_PATH } });
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

function ensureCiUser() {
  let user = passwdEntry(CI_USER);
  if (!user) {
    say(`creating the unprivileged user ${CI_USER}`);
    runAsRootOrDie('useradd', ['-m', '-s', '/bin/bash', CI_USER]);
    user = passwdEntry(CI_USER);
    if (!user) die(`useradd made no user ${CI_USER}`);
  }
  const addSubuids = !hasSubids('/etc/subuid', CI_USER, user.uid);
  const addSubgids = !hasSubids('/etc/subgid', CI_USER, user.uid);
  if (addSubuids || addSubgids) {
    say(`giving ${CI_USER} subordinate ${[addSubuids && 'uids', addSubgids && 'gids'].filter(Boolean).join(' and ')} ${SUBID_RANGE}`);
    runAsRootOrDie('usermod', [
      ...(addSubuids ? ['--add-subuids', SUBID_RANGE] : []),
      ...(addSubgids ? ['--add-subgids', SUBID_RANGE] : []),
      CI_USER,
    ]);
  }
  return user;
}

/** /run/user/<uid>, as a login session would have it (made here if missing). */
function ensureRuntimeDir(user) {
  const dir = `/run/user/${user.uid}`;
  if (existsSync(dir)) {
    const st = statSync(dir);
    if (st.uid === user.uid && st.isDirectory()) return dir;
    die(`${dir} exists but is not a directory owned by uid ${user.uid}`);
  }
  const madeParent = !existsSync('/run/user');
  mkdirSync('/run/user', { recursive: true, mode: 0o755 });
  if (madeParent) cleanups.push(() => rmdirSync('/run/user')); // after dir (cleanups run last first)
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A private copy of the tree (the checkout may be unreadable by the user). */
function copyTree(user) {
  const dir = mkdtempSync(join('/tmp', `${CI_USER}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
  const skip = new Set([join(root, '.git'), join(root, '.nsbox-test-root')]);
  cpSync(root, dir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => {
      if (skip.has(src)) return false;
      const st = lstatSync(src);
      return st.isFile() || st.isDirectory() || st.isSymbolicLink();
    },
  });
  runAsRootOrDie('chown', ['-R', '--no-dereference', `${user.uid}:${user.gid}`, dir]);
  chmodSync(dir, 0o700);
  return dir;
}

/** A node binary the user can run: this one, or a copy of it in the tree. */
function nodeFor(user, tree) {
  const probe = spawnSync('runuser', ['-u', CI_USER, '--', process.execPath, '--version'], { stdio: 'ignore', cwd: tree, env: { PATH: SYSTEM_PATH } });
  if (probe.status === 0) return process.execPath;
  const copy = join(tree, '.nsbox-ci-node', 'node');
  mkdirSync(dirname(copy), { recursive: true });
  copyFileSync(process.execPath, copy);
  chmodSync(copy, 0o755);
  runAsRootOrDie('chown', ['-R', `${user.uid}:${user.gid}`, dirname(copy)]);
  say(`${process.execPath} is not reachable by ${CI_USER}; using a copy at ${copy}`);
  return copy;
}

async function rootlessRunAsCiUser() {
  const user = ensureCiUser();
  const runtimeDir = ensureRuntimeDir(user);
  const tree = copyTree(user);
  const node = nodeFor(user, tree);
  const jsonFile = join(tree, '.nsbox-ci-results.json');
  const nodeDir = dirname(node);
  const path = USER_PATH.split(':').includes(nodeDir) ? USER_PATH : `${nodeDir}:${USER_PATH}`;
  const env = {
    HOME: user.home,
    USER: CI_USER,
    LOGNAME: CI_USER,
    SHELL: user.shell || '/bin/sh',
    PATH: path,
    LANG: process.env.LANG || 'C.UTF-8',
    XDG_RUNTIME_DIR: runtimeDir,
    NSBOX_TEST_MODE: 'rootless',
    NSBOX_TEST_RUN_ID: runId,
    ...(sharedRootfsCache ? { NSBOX_TEST_ROOTFS_CACHE: sharedRootfsCache } : {}),
    ...(dockerClient ? { NSBOX_TEST_DOCKER_CLI: dockerClient } : {}),
  };
  for (const k of ['NSBOX_SKIP_BLOG', 'NSBOX_SKIP_NGINX', 'NSBOX_TEST_NGINX']) if (process.env[k]) env[k] = process.env[k];
  for (const k of ['CI', 'TERM', 'COLORTERM', 'FORCE_COLOR', 'NO_COLOR']) {
    if (process.env[k] !== undefined) env[k] = process.env[k];
  }
  // Paths into the checkout name the same files in the copy.
  const args = vitestArgs.map((a) => (a === root || a.startsWith(root + sep) ? join(tree, relative(root, a)) : a));
  header(`rootless mode: user ${CI_USER} (uid ${user.uid}, gid ${user.gid}), copy of the tree in ${tree}`);
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const code = await runChild('runuser', ['-u', CI_USER, '--', 'env', '-i', ...envArgs, node, ...vitestCommand(tree, jsonFile, args)], {
    cwd: tree,
    env: { PATH: SYSTEM_PATH },
  });
  const counts = readCounts(jsonFile, code, 'rootless', tree);
  rmSync(tree, { recursive: true, force: true, maxRetries: 3 });
  return { mode: `rootless (uid ${user.uid})`, code, ...counts };
}

async function runInPlace(mode) {
  const resultsDir = mkdtempSync(join(tmpdir(), 'nsbox-test-results-'));
  cleanups.push(() => rmSync(resultsDir, { recursive: true, force: true }));
  const jsonFile = join(resultsDir, 'results.json');
  const uid = process.getuid();
  header(`${mode} mode: uid ${uid}, in ${root}`);
  const code = await runChild(process.execPath, vitestCommand(root, jsonFile, vitestArgs), {
    cwd: root,
    env: { ...process.env, NSBOX_TEST_MODE: mode, NSBOX_TEST_RUN_ID: runId, ...(sharedRootfsCache ? { NSBOX_TEST_ROOTFS_CACHE: sharedRootfsCache } : {}), ...(dockerClient ? { NSBOX_TEST_DOCKER_CLI: dockerClient } : {}) },
  });
  return { mode: `${mode} (uid ${uid})`, code, ...readCounts(jsonFile, code, mode, root) };
}

// ------------------------------------------------------------------- main

ensureSystemPackages();
ensureBuild();

// The Docker-API tests drive the docker CLI from Debian's docker.io (the
// client only). Without it they fail and say why; nothing else does.
let dockerClient = null;
try {
  dockerClient = ensureDockerClient();
  say(`docker client: ${dockerClient}`);
} catch (err) {
  say(`docker client unavailable, the Docker-API tests will fail: ${err.message}`);
}

// Test roots are named after the run, so that the sweep after each mode
// ends only this run's leftovers, never a concurrent run's.
const runId = randomBytes(3).toString('hex');
const sweep = (r) => {
  const ended = [...new Set(['/tmp', tmpdir()])].flatMap((tmp) => endLeftovers(tmp, `nsbox-test-${runId}-`));
  for (const line of ended) say(`LEFTOVER ended: ${line}`);
  return { ...r, leftovers: ended };
};

const runs = [];
if (isRoot) {
  await prebuildRootfs();
  openTunForRootlessRun();
  runs.push(sweep(await rootlessRunAsCiUser()));
  if (!interrupted) runs.push(sweep(await runInPlace('root')));
} else {
  runs.push(sweep(await runInPlace('rootless')));
}

header('summary');
for (const r of runs) {
  const skips = r.skipped ?? [];
  say(`${r.mode}: ${r.passed} passed, ${r.failed} failed, ${skips.length} not run (skipped/todo), ${r.total ?? 0} in all, vitest exit ${r.code}${r.ok ? '' : ' (FAILED)'}`);
  if (nameFiltered && skips.length) say(`  ${skips.length} not matched by -t`);
  else {
    for (const t of skips) say(`  ${t.allowed ? 'allowed' : 'NOT ALLOWED'} ${t.status}: ${t.file} > ${t.title}${t.allowed ? ` (${t.allowed.reason})` : ''}`);
  }
  for (const f of r.failures ?? []) say(`  FAILED test: ${f.file} > ${f.title}${f.error ? `\n    ${f.error}` : ''}`);
  for (const p of r.problems ?? []) say(`  FAILED: ${p}`);
  if (r.leftovers?.length) say(`  ${r.leftovers.length} process(es) left running by killed test files were ended (listed above)`);
}
const passed = runs.reduce((n, r) => n + r.passed, 0);
// A run that failed for a runner reason (a skip not allowed, a missing file)
// counts it, so the closing line agrees with the exit code.
const failed = runs.reduce((n, r) => n + r.failed + (r.problems?.length ?? 0), 0);
console.log(`${passed} passed, ${failed} failed`);
runCleanups();
process.exit(interrupted ? 130 : runs.every((r) => r.ok) ? 0 : 1);
