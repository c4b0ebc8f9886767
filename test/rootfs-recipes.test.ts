// Rootfs recipes (rootfs/<name>/recipe.mjs) and their builder: the busybox
// tarball's contents and ownership, the cache keyed by the recipe's hash,
// --force, the CLI's stdout contract, and that failed or interrupted builds
// leave nothing in the cache. The nginx recipe needs the network and ~30 s,
// so it only runs with NSBOX_TEST_NGINX=1 (CI sets it: .ci/run).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { list as tarList } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { buildRootfs, buildRootfsDetails, cachedTarballPath, recipeHash, RECIPES_DIR } from '../rootfs/build.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'scripts', 'build-rootfs.mjs');
const isRoot = process.getuid?.() === 0;

const temps: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}
afterEach(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Entry {
  path: string;
  type: string;
  uid: number;
  gid: number;
  uname: string;
  mode: number;
  linkpath: string;
  size: number;
}

async function readTar(file: string, wanted: string[] = []): Promise<{ entries: Map<string, Entry>; files: Map<string, string> }> {
  const entries = new Map<string, Entry>();
  const files = new Map<string, string>();
  await tarList({
    file,
    onReadEntry: (e) => {
      const p = e.path.replace(/^\.\//, '').replace(/\/$/, '');
      entries.set(p, {
        path: p,
        type: e.type,
        uid: e.uid ?? -1,
        gid: e.gid ?? -1,
        uname: e.uname ?? '',
        mode: e.mode ?? 0,
        linkpath: e.linkpath ?? '',
        size: e.size ?? 0,
      });
      if (wanted.includes(p)) {
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => files.set(p, Buffer.concat(chunks).toString('utf8')));
      }
    },
  });
  return { entries, files };
}

function readFileSyncOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls `cond` until it holds; the test's own timeout bounds the wait. */
async function waitUntil(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 25_000 / 20) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A recipes directory with one recipe `name` whose recipe.mjs is `source`. */
function fixtureRecipes(name: string, source: string): string {
  const dir = tempDir('nsbox-recipes-');
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'recipe.mjs'), source);
  return dir;
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('busybox recipe', () => {
  it('builds a ~2 MB tarball with busybox, applet links, passwd/group and root-owned entries', async () => {
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const r = await buildRootfsDetails('busybox', { cacheDir, log: false });
    expect(r.cached).toBe(false);
    expect(r.path).toMatch(/\/busybox-[0-9a-f]{16}\.tar$/);
    expect(r.path.startsWith(cacheDir)).toBe(true);
    expect(r.path).toBe(cachedTarballPath('busybox', { cacheDir }));
    expect(r.hash).toBe(recipeHash('busybox').hash);
    expect(readdirSync(cacheDir)).toEqual([r.path.slice(cacheDir.length + 1)]);
    expect(r.bytes).toBeGreaterThan(500_000);
    expect(r.bytes).toBeLessThan(5_000_000);

    const { entries, files } = await readTar(r.path, ['etc/passwd', 'etc/group']);
    const busybox = entries.get('bin/busybox');
    expect(busybox?.type).toBe('File');
    expect(busybox!.mode & 0o777).toBe(0o755);
    expect(entries.get('bin/sh')).toMatchObject({ type: 'SymbolicLink', linkpath: 'busybox' });
    expect(entries.get('usr/bin/wget')).toMatchObject({ type: 'SymbolicLink', linkpath: '../../bin/busybox' });
    expect(entries.get('bin/busybox')!.size).toBeGreaterThan(500_000);
    expect(files.get('etc/passwd')).toMatch(/^root:x:0:0:/m);
    expect(files.get('etc/passwd')).toMatch(/^www-data:x:33:33:/m);
    expect(files.get('etc/passwd')).toMatch(/^nobody:x:65534:65534:/m);
    expect(files.get('etc/group')).toMatch(/^www-data:x:33:/m);
    for (const d of ['proc', 'sys', 'dev', 'root', 'var/www']) expect(entries.get(d)?.type, d).toBe('Directory');
    expect(entries.get('tmp')!.mode & 0o7777).toBe(0o1777);
    expect(entries.get('var/www/index.html')?.type).toBe('File');
    const notRoot = [...entries.values()].filter((e) => e.uid !== 0 || e.gid !== 0 || e.uname !== 'root');
    expect(notRoot.map((e) => `${e.path} ${e.uid}:${e.gid} ${e.uname}`)).toEqual([]);
    const links = [...entries.values()].filter((e) => e.type === 'SymbolicLink');
    expect(links.length).toBeGreaterThan(200);
  });

  it('a second build hits the cache (same path and file, untouched); --force rebuilds the same bytes', async () => {
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const first = await buildRootfs('busybox', { cacheDir, log: false });
    const st1 = statSync(first);
    const sum1 = sha256(first);

    const again = await buildRootfsDetails('busybox', { cacheDir, log: false });
    expect(again.path).toBe(first);
    expect(again.cached).toBe(true);
    const st2 = statSync(first);
    expect(st2.mtimeMs).toBe(st1.mtimeMs);
    expect(st2.ino).toBe(st1.ino);

    const forced = await buildRootfsDetails('busybox', { cacheDir, force: true, log: false });
    expect(forced.cached).toBe(false);
    expect(forced.path).toBe(first);
    expect(statSync(first).ino).not.toBe(st1.ino); // a new file renamed into place
    expect(sha256(first)).toBe(sum1); // deterministic
    expect(readdirSync(cacheDir)).toHaveLength(1);
  });

  it('the CLI prints the path as the last stdout line (text and json), progress on stderr, --out copies', () => {
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const r1 = runCli(['busybox', '--cache-dir', cacheDir]);
    expect(r1.status, r1.stderr).toBe(0);
    const path = r1.stdout.trim().split('\n').pop()!;
    expect(path).toMatch(new RegExp(`^${cacheDir}/busybox-[0-9a-f]{16}\\.tar$`));
    expect(existsSync(path)).toBe(true);
    expect(r1.stderr).toMatch(/busybox: built .* \(\d+\.\d MB\) in [\d.]+ s/);

    const r2 = runCli(['busybox', '--cache-dir', cacheDir, '--format', 'json']);
    expect(r2.status, r2.stderr).toBe(0);
    const j = JSON.parse(r2.stdout.trim().split('\n').pop()!);
    expect(j).toMatchObject({ name: 'busybox', path, cachePath: path, cached: true });
    expect(r2.stderr).toMatch(/busybox: cached /);

    const outDir = tempDir('nsbox-rootfs-out-');
    const out = join(outDir, 'sub', 'bb.tar');
    const r3 = runCli(['busybox', '--cache-dir', cacheDir, '--out', out, '--quiet']);
    expect(r3.status, r3.stderr).toBe(0);
    expect(r3.stdout.trim()).toBe(out);
    expect(r3.stderr).toBe('');
    expect(sha256(out)).toBe(sha256(path));
    expect(readdirSync(join(outDir, 'sub'))).toEqual(['bb.tar']);

    const bad = runCli(['no-such-recipe', '--cache-dir', cacheDir]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toMatch(/^build-rootfs: unknown rootfs recipe no-such-recipe \(known: .*busybox.*nginx/);
    expect(runCli([]).status).toBe(2);
  });

  it('XDG_CACHE_HOME decides the default cache directory', () => {
    const xdg = tempDir('nsbox-xdg-');
    const r = runCli(['busybox', '--quiet'], { XDG_CACHE_HOME: xdg });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^${xdg}/nsbox/rootfs/busybox-[0-9a-f]{16}\\.tar$`));
  });
});

describe('recipe hash', () => {
  it('covers the recipe files but not its README', () => {
    const dir = tempDir('nsbox-recipes-');
    cpSync(join(RECIPES_DIR, 'busybox'), join(dir, 'busybox'), { recursive: true });
    cpSync(join(RECIPES_DIR, 'lib'), join(dir, 'lib'), { recursive: true });
    const h0 = recipeHash('busybox', { recipesDir: dir }).hash;
    expect(h0).toBe(recipeHash('busybox').hash);
    writeFileSync(join(dir, 'busybox', 'README.md'), 'notes change nothing\n');
    expect(recipeHash('busybox', { recipesDir: dir }).hash).toBe(h0);
    writeFileSync(join(dir, 'busybox', 'files', 'etc', 'motd'), 'hello\n');
    const h1 = recipeHash('busybox', { recipesDir: dir }).hash;
    expect(h1).not.toBe(h0);
    writeFileSync(join(dir, 'lib', 'tar-writer.mjs'), readFileSync(join(dir, 'lib', 'tar-writer.mjs'), 'utf8') + '\n// changed\n');
    expect(recipeHash('busybox', { recipesDir: dir }).hash).not.toBe(h1);
  });
});

describe('failures leave nothing in the cache', () => {
  it('a recipe that fails after writing part of the tarball', async () => {
    const recipesDir = fixtureRecipes(
      'broken',
      `import { writeFileSync, mkdirSync } from 'node:fs';
export const description = 'fails half way';
export async function build(ctx) {
  writeFileSync(ctx.out, Buffer.alloc(100_000, 1));
  mkdirSync(ctx.work + '/scratch');
  await ctx.run('sh', ['-c', 'echo E: the mirror is on fire >&2; exit 3']);
}
`,
    );
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    await expect(buildRootfs('broken', { cacheDir, recipesDir, log: false })).rejects.toThrow(/sh failed \(exit 3\): E: the mirror is on fire/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a tarball that lacks what the recipe promises is not cached', async () => {
    const recipesDir = fixtureRecipes(
      'incomplete',
      `export const verify = { paths: ['bin/sh'], users: ['www-data'] };
export async function build(ctx) {
  ctx.writeTar(ctx.out, [{ path: 'etc/passwd', type: 'file', data: 'root:x:0:0::/root:/bin/sh\\n' }]);
}
`,
    );
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    await expect(buildRootfs('incomplete', { cacheDir, recipesDir, log: false })).rejects.toThrow(/lacks \/bin\/sh/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('a missing host tool is one clear error naming its Debian package', async () => {
    const recipesDir = fixtureRecipes(
      'needs-tool',
      `export const tools = [{ cmd: 'nsbox-no-such-tool', pkg: 'nsbox-no-such-package' }];
export async function build() { throw new Error('must not run'); }
`,
    );
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    await expect(buildRootfs('needs-tool', { cacheDir, recipesDir, log: false, install: false })).rejects.toThrow(
      /^nsbox-no-such-tool not found: (sudo )?apt-get install nsbox-no-such-package$/,
    );
    const r = runCli(['needs-tool', '--cache-dir', cacheDir, '--recipes-dir', recipesDir, '--no-install']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^build-rootfs: nsbox-no-such-tool not found: (sudo )?apt-get install nsbox-no-such-package$/);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('SIGTERM mid-build stops the recipe\'s processes and removes the temp files', async () => {
    const recipesDir = fixtureRecipes(
      'slow',
      `import { writeFileSync } from 'node:fs';
export async function build(ctx) {
  writeFileSync(ctx.out, Buffer.alloc(1_000_000, 7));
  writeFileSync(ctx.work + '/partial', 'x');
  await ctx.run('sh', ['-c', 'echo child-pid $$; exec sleep 60']);
}
`,
    );
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const child = spawn(process.execPath, [CLI, 'slow', '--cache-dir', cacheDir, '--recipes-dir', recipesDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c) => (stdout += c));
    const pid = await new Promise<number>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no child pid; stderr: ${stderr}`)), 15_000);
      child.stderr.on('data', (c) => {
        stderr += c;
        const m = /child-pid (\d+)/.exec(stderr);
        if (m) {
          clearTimeout(t);
          res(Number(m[1]));
        }
      });
    });
    // mid-build: the temp tarball and scratch directory exist
    const during = readdirSync(cacheDir);
    expect(during.some((n) => /^\.tmp-slow-[0-9a-f]{16}-\d+-[0-9a-f]{8}\.tar$/.test(n)), during.join(' ')).toBe(true);
    expect(during.some((n) => n.endsWith('.d'))).toBe(true);

    const exit = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(143);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/interrupted by SIGTERM; no tarball was cached/);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('an AbortSignal stops a library build the same way', async () => {
    const pidFile = join(tempDir('nsbox-recipe-pid-'), 'pid');
    const recipesDir = fixtureRecipes(
      'slow',
      `import { writeFileSync } from 'node:fs';
export async function build(ctx) {
  writeFileSync(ctx.out, 'partial');
  await ctx.run('sh', ['-c', 'echo $$ > ${pidFile}; exec sleep 600']);
}
`,
    );
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const ac = new AbortController();
    const p = buildRootfs('slow', { cacheDir, recipesDir, log: false, signal: ac.signal });
    // Abort once the recipe's process runs (a sleep that would outlast the test).
    let pid = 0;
    await waitUntil(() => (pid = Number(readFileSyncOrEmpty(pidFile).trim())) > 0, 'the recipe to start its process');
    expect(() => process.kill(pid, 0)).not.toThrow();
    ac.abort('SIGINT');
    await expect(p).rejects.toThrow(/interrupted \(SIGINT\); no tarball was cached/);
    expect(readdirSync(cacheDir)).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('temp files of a builder that died (SIGKILL) are removed by the next build', async () => {
    const cacheDir = tempDir('nsbox-rootfs-cache-');
    const dead = spawnSync('true').pid!;
    const stale = join(cacheDir, `.tmp-busybox-0123456789abcdef-${dead}-deadbeef.tar`);
    const staleDir = join(cacheDir, `.tmp-busybox-0123456789abcdef-${dead}-deadbeef.d`);
    writeFileSync(stale, 'partial');
    mkdirSync(staleDir);
    // a live builder's temp (this process) is left alone
    const live = join(cacheDir, `.tmp-busybox-0123456789abcdef-${process.pid}-cafef00d.tar`);
    writeFileSync(live, 'in progress');
    const path = await buildRootfs('busybox', { cacheDir, log: false });
    expect(readdirSync(cacheDir).sort()).toEqual([live.slice(cacheDir.length + 1), path.slice(cacheDir.length + 1)].sort());
  });
});

// The nginx recipe downloads ~35 MB from the Debian mirror and runs
// mmdebstrap (~30 s here); opt in with NSBOX_TEST_NGINX=1, as CI does.
describe('nginx recipe', () => {
  it.runIf(process.env.NSBOX_TEST_NGINX === '1')(
    'nginx rootfs (slow, NSBOX_TEST_NGINX=1): mmdebstrap builds it, www-data and nginx paths present, `nginx -t` passes chrooted',
    async () => {
      const cacheDir = tempDir('nsbox-rootfs-cache-');
      const lines: string[] = [];
      const r = await buildRootfsDetails('nginx', { cacheDir, log: (l: string) => lines.push(l) });
      expect(r.cached).toBe(false);
      expect(r.path).toMatch(/\/nginx-[0-9a-f]{16}\.tar$/);
      expect(r.bytes).toBeGreaterThan(30_000_000);
      expect(readdirSync(cacheDir)).toEqual([r.path.slice(cacheDir.length + 1)]);
      expect(lines.join('\n')).toMatch(/nginx: (downloading packages|installing remaining packages)/);

      const { entries, files } = await readTar(r.path, ['etc/passwd', 'etc/hostname', 'etc/resolv.conf']);
      expect(files.get('etc/passwd')).toMatch(/^www-data:x:33:33:/m);
      for (const p of ['usr/sbin/nginx', 'etc/nginx/nginx.conf', 'etc/nginx/sites-enabled/default', 'run', 'var/www/html', 'var/log/nginx']) {
        expect(entries.has(p), p).toBe(true);
      }
      expect(entries.get('var/log/nginx/error.log')?.uid).toBe(33);
      expect(files.get('etc/hostname')).toBe('');
      expect(files.get('etc/resolv.conf')).toBe('');

      // extract with owners kept (as root, or in a user namespace with the
      // subuid range) and check the configuration chrooted
      const script = [
        'set -e',
        'PATH="$PATH:/usr/sbin:/sbin"', // chroot lives in sbin, which a user's PATH may lack
        'D=$(mktemp -d "${TMPDIR:-/tmp}/nsbox-nginx-check.XXXXXX")',
        'trap \'rm -rf "$D"\' EXIT',
        'tar -xpf "$1" -C "$D" --numeric-owner --exclude="./dev/*"',
        'test "$(stat -c %u "$D/var/log/nginx/error.log")" = 33',
        'chroot "$D" /usr/sbin/nginx -t',
      ].join('\n');
      // (`nginx -t` binds its listen sockets, hence a network namespace)
      const ns = isRoot ? ['--net'] : ['--user', '--map-root-user', '--map-auto', '--mount', '--net'];
      const cmd = ['unshare', [...ns, 'sh', '-c', script, 'sh', r.path]];
      const check = spawnSync(cmd[0] as string, cmd[1] as string[], { encoding: 'utf8', timeout: 120_000 });
      expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
      expect(check.stderr).toMatch(/test is successful/);

      const again = await buildRootfsDetails('nginx', { cacheDir, log: false });
      expect(again).toMatchObject({ path: r.path, cached: true });
    },
    600_000,
  );
});
