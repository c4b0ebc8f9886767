#!/usr/bin/env node
// Builds everything a fresh clone needs: the native shims (system C compiler)
// and the TypeScript (tsc). Run by `npm install` (prepare) and `npm run build`.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native-shims');
const out = join(src, 'build');

function die(message) {
  console.error(`nsbox build: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

function findCompiler() {
  for (const cc of [process.env.CC, 'cc', 'gcc', 'clang'].filter(Boolean)) {
    const r = spawnSync(cc, ['--version'], { stdio: 'ignore' });
    if (!r.error && r.status === 0) return cc;
  }
  die('no C compiler found: install one (Debian: apt-get install gcc libc6-dev) and run `npm run build`');
}

// Static binaries keep the pause under 1 MiB RSS; fall back to dynamic ones
// where libc.a is missing (e.g. without libc6-dev's static parts).
function canLinkStatic(cc) {
  const r = spawnSync(cc, ['-static', '-x', 'c', '-o', '/dev/null', '-'], {
    input: 'int main(void){return 0;}',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  return !r.error && r.status === 0;
}

const cc = findCompiler();
mkdirSync(out, { recursive: true });
const warnings = ['-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wformat=2', '-Wstrict-prototypes'];
const linkStatic = canLinkStatic(cc) ? ['-static'] : [];
const shimSources = readdirSync(join(src, 'shim'))
  .filter((f) => f.endsWith('.c'))
  .map((f) => join(src, 'shim', f));

run(cc, ['-std=gnu11', '-O2', ...warnings, '-fPIC', '-shared', '-o', join(out, 'libnsbox-shim.so'), ...shimSources]);
run(cc, ['-std=gnu11', '-Os', ...warnings, ...linkStatic, '-s', '-o', join(out, 'pause'), join(src, 'pause.c')]);
run(cc, ['-std=gnu11', '-O2', ...warnings, ...linkStatic, '-o', join(out, 'nsbox-probe'), join(src, 'probe.c')]);
run(cc, ['-std=gnu11', '-O2', ...warnings, ...linkStatic, '-s', '-o', join(out, 'nsbox-forward'), join(src, 'forward.c')]);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) die('TypeScript is not installed: run `npm install` first');
run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]);

// The CLI and the supervisor are started as processes, so each is bundled
// into one file: loading ~60 ES modules one by one costs ~20 ms per call.
// (Code splitting measured slower here: a verb then loads many chunks.)
// Each bundle sits at the same depth as its entry, so paths relative to
// import.meta.url (src/native/artifacts.ts) stay right.
const bundles = [
  ['dist/cli/main.js', 'dist/cli/nsbox.mjs'],
  ['dist/supervisor/main.js', 'dist/supervisor/nsbox-supervisor.mjs'],
];
const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
rmSync(join(root, 'dist', 'bundle'), { recursive: true, force: true });
for (const [entry, out] of bundles) {
  if (!existsSync(esbuild)) {
    writeFileSync(join(root, out), `#!/usr/bin/env node\nimport './${basename(entry)}';\n`);
  } else {
    // The image code (with node-tar, ~180 KB) stays out: verbs that import
    // images load it from dist/image/ (same relative path from dist/cli/).
    run(esbuild, [entry, '--bundle', '--platform=node', '--format=esm', '--target=node20', '--external:ffi-rs', '--external:../image/*', '--external:../check/*', `--outfile=${out}`, '--log-level=warning',
      // commander is CommonJS: give the bundle a require() for its node: imports
      "--banner:js=import { createRequire as __nsboxRequire } from 'node:module'; const require = __nsboxRequire(import.meta.url);"]);
  }
  chmodSync(join(root, out), 0o755);
}
console.log('nsbox build: native shims, TypeScript and bundles built');
