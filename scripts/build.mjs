#!/usr/bin/env node
// Builds a checkout: the native shims (scripts/build-native.mjs, skipped
// when they are newer than their sources, so `npm ci` does not compile them
// twice: the install script already did), the TypeScript (tsc) and the
// bundles (esbuild). Run by `npm install` (prepare), `npm pack` (prepare)
// and `npm run build`. Needs the devDependencies; the published package
// runs only build-native.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative, NativeBuildError } from './build-native.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function die(message) {
  console.error(`nsbox build: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
}

/** The bundles esbuild writes into dist/: outputs that have no source of their own. */
const bundles = [
  ['dist/cli/main.js', 'dist/cli/nsbox.mjs'],
];

/**
 * Removes what tsc once emitted for a source that is gone: `npm pack` ships
 * dist/ as it is, and a stale module there would be published.
 */
function pruneStaleOutputs(dir = join(root, 'dist')) {
  const keep = new Set(bundles.map(([, out]) => join(root, out)));
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      pruneStaleOutputs(p);
      if (readdirSync(p).length === 0) rmSync(p, { recursive: true });
      continue;
    }
    if (keep.has(p)) continue;
    const source = join(root, 'src', relative(join(root, 'dist'), p)).replace(/(\.d\.ts|\.js\.map|\.js)$/, '.ts');
    if (!existsSync(source)) rmSync(p);
  }
}

try {
  await buildNative({ ifStale: !process.argv.includes('--force') });
} catch (err) {
  if (err instanceof NativeBuildError) die(err.message);
  throw err;
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (!existsSync(tsc)) die('TypeScript is not installed: run `npm install` first');
run(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]);
pruneStaleOutputs();

// The CLI is started as a process for every verb, so it is bundled
// into one file: loading ~60 ES modules one by one costs ~20 ms per call.
// (Code splitting measured slower here: a verb then loads many chunks.)
// Each bundle sits at the same depth as its entry, so paths relative to
// import.meta.url (src/native/artifacts.ts) stay right.
const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
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
