#!/usr/bin/env node
// Builds a checkout: the native shims (scripts/build-native.mjs, skipped
// when they are newer than their sources, so `npm ci` does not compile them
// twice: the install script already did), the TypeScript (tsc) and the
// bundles (esbuild). Run by `npm install` (prepare), `npm pack` (prepare)
// and `npm run build`. Needs the devDependencies; the published package
// runs only build-native.mjs.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
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

/** The CLI's bin and bundle (build below): outputs in dist/ that have no source of their own. */
const bundles = ['dist/cli/nsbox.cjs', 'dist/cli/nsbox-cli.cjs'];

/**
 * Removes what tsc once emitted for a source that is gone: `npm pack` ships
 * dist/ as it is, and a stale module there would be published.
 */
function pruneStaleOutputs(dir = join(root, 'dist')) {
  const keep = new Set(bundles.map((out) => join(root, out)));
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

// The CLI is started as a process for every verb, so it is bundled into one
// CommonJS file, dist/cli/nsbox-cli.cjs: loading ~60 ES modules one by one
// costs ~20 ms per call. Its bin, dist/cli/nsbox.cjs (scripts/cli-launcher.cjs
// with the bundle's hash), runs it with V8's code cache, so a call compiles
// only what the cache lacks. The bundle sits at the depth of its sources, so
// paths relative to import.meta.url (src/native/artifacts.ts) stay right.
const esbuildMain = join(root, 'node_modules', 'esbuild', 'lib', 'main.js');
const CLI_BUNDLE = 'dist/cli/nsbox-cli.cjs';
const CLI_BIN = 'dist/cli/nsbox.cjs';

/**
 * commander requires node:child_process when loaded, for subcommands run as
 * executables, which nsbox has none of; loading it costs ~1-3 ms of every
 * call. The bundle's copy requires it on the first spawn instead.
 */
const lazyChildProcessInCommander = {
  name: 'lazy-child-process-in-commander',
  setup(build) {
    build.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const eager = "const childProcess = require('node:child_process');";
      const source = readFileSync(args.path, 'utf8');
      if (!source.includes(eager) || /childProcess\.(?!spawn\()/.test(source)) die(`${args.path}: commander no longer loads child_process as the build expects; update lazyChildProcessInCommander`);
      return { contents: source.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: 'js' };
    });
  },
};

if (existsSync(esbuildMain)) {
  const esbuild = await import(esbuildMain);
  await esbuild.build({
    entryPoints: [join(root, 'dist/cli/main.js')],
    outfile: join(root, CLI_BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Packages only some verbs use stay in node_modules, loaded when used: bundled, yaml and smol-toml
    // were a quarter of the bundle that every call reads and deserializes.
    external: ['ffi-rs', 'tar', 'undici', 'fzstd', 'yaml', 'smol-toml'],
    plugins: [lazyChildProcessInCommander],
    // A CommonJS file has no import.meta: its URL is the bundle's own.
    define: { 'import.meta.url': '__nsboxModuleUrl' },
    banner: { js: "'use strict';\nvar __nsboxModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  }).catch(() => die('esbuild of the CLI failed'));
  // A vm script (the bin runs the bundle as one, for its code cache) has no import(): the packages it loads that way are CommonJS too.
  const bundled = readFileSync(join(root, CLI_BUNDLE), 'utf8').replace(/\bimport\((["'])([^"'./][^"']*)\1\)/g, (_, q, spec) => `Promise.resolve().then(() => require(${q}${spec}${q}))`);
  if (/\bimport\(/.test(bundled)) die(`${CLI_BUNDLE} still has an import(): a dynamic import the build does not turn into require`);
  // The bin reads it as latin1, which is exact for ASCII only (esbuild escapes the rest by default).
  if (/[^\x00-\x7f]/.test(bundled)) die(`${CLI_BUNDLE} holds a non-ASCII character: keep esbuild's charset ascii`);
  writeFileSync(join(root, CLI_BUNDLE), bundled);
  const hash = createHash('sha256').update(readFileSync(join(root, CLI_BUNDLE))).digest('hex').slice(0, 16);
  writeFileSync(join(root, CLI_BIN), readFileSync(join(root, 'scripts', 'cli-launcher.cjs'), 'utf8').replace('@BUNDLE_HASH@', hash), { mode: 0o755 });
  chmodSync(join(root, CLI_BIN), 0o755);
} else {
  writeFileSync(join(root, CLI_BUNDLE), "'use strict';\nimport('./main.js');\n");
  writeFileSync(join(root, CLI_BIN), "#!/usr/bin/env node\n'use strict';\nrequire('./nsbox-cli.cjs');\n", { mode: 0o755 });
}
console.log('nsbox build: native shims, TypeScript and bundles built');
