#!/usr/bin/env node
// Builds a checkout: the native shims (scripts/build-native.mjs, skipped
// when they are newer than their sources, so `npm ci` does not compile them
// twice: the install script already did), the TypeScript (tsc) and the
// bundles (esbuild). Run by `npm install` (prepare), `npm pack` (prepare)
// and `npm run build`. Needs the devDependencies; the published package
// runs only build-native.mjs.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';
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

// The CLI is started as a process for every verb, so it is bundled:
// loading ~60 ES modules one by one costs ~20 ms per call. The image and
// check code, and cp's (~100 KB, and node-tar with them) is the one part split off, into
// nsbox-lazy.mjs, loaded on first use; the code it shares with the entry is
// in nsbox-chunk.mjs, so each module exists once per process. (esbuild
// splits at every dynamic import, and a verb would then load many chunks:
// the other dynamic imports are inlined, as an unsplit bundle does.) Each
// bundle and its chunks sit at the same depth as its entry, so paths
// relative to import.meta.url (src/native/artifacts.ts) stay right.
const esbuildMain = join(root, 'node_modules', 'esbuild', 'lib', 'main.js');
const dist = join(root, 'dist');
/** Folders of dist/ that only the lazy chunk holds. */
const LAZY = /^(image|check|copy|api\/docker|kube)\//;
const RELATIVE_IMPORT = /\bimport\((['"])(\.\.?\/[^'"]+)\1\)/g;

/** Rewrites dynamic imports: those into the lazy folders go through the lazy entry, the others become inline. */
function splitOnce(lazyTargets) {
  return {
    name: 'nsbox-split-once',
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, async (args) => {
        const from = relative(dist, args.path);
        if (from.startsWith('..')) return undefined; // node_modules
        const text = readFileSync(args.path, 'utf8').replace(RELATIVE_IMPORT, (_, q, spec) => {
          const target = posix.join(posix.dirname(from), spec);
          if (LAZY.test(target) && !LAZY.test(from)) return `import('nsbox:lazy').then((m) => m[${JSON.stringify(target)}])`;
          return `Promise.resolve().then(() => require(${q}${spec}${q}))`;
        });
        return { contents: text, loader: 'js' };
      });
      b.onResolve({ filter: /^nsbox:lazy$/ }, () => ({ path: 'lazy', namespace: 'nsbox' }));
      b.onLoad({ filter: /^lazy$/, namespace: 'nsbox' }, () => ({
        resolveDir: dist,
        contents: lazyTargets.map((t, i) => `import * as m${i} from './${t}';\nexport { m${i} as ${JSON.stringify(t)} };`).join('\n'),
      }));
    },
  };
}

/** The dist/ modules in the lazy folders that the rest imports dynamically. */
function findLazyTargets(dir = dist, found = new Set()) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const from = relative(dist, p);
    if (e.isDirectory()) findLazyTargets(p, found);
    else if (from.endsWith('.js') && !LAZY.test(from))
      for (const m of readFileSync(p, 'utf8').matchAll(RELATIVE_IMPORT)) {
        const target = posix.join(posix.dirname(from), m[2]);
        if (LAZY.test(target)) found.add(target);
      }
  }
  return [...found].sort();
}

/** Fails the build unless the bundle is its entry, one shared chunk and the lazy chunk, and the lazy code stays out of the start. */
function checkShape(entry, metafile) {
  const outputs = Object.entries(metafile.outputs).map(([path, o]) => ({ path: join(root, path), ...o }));
  const byPath = new Map(outputs.map((o) => [o.path, o]));
  const start = new Set();
  const visit = (path) => {
    if (start.has(path)) return;
    start.add(path);
    for (const i of byPath.get(path)?.imports ?? []) if (i.kind === 'import-statement' && byPath.has(join(root, i.path))) visit(join(root, i.path));
  };
  visit(join(root, entry));
  const names = outputs.map((o) => basename(o.path)).sort();
  const expected = [basename(entry), 'nsbox-chunk.mjs', 'nsbox-lazy.mjs'].sort();
  if (names.join() !== expected.join()) die(`${entry}: expected the chunks ${expected.join(', ')}, got ${names.join(', ')} (a dynamic import the build does not rewrite?)`);
  for (const path of start)
    for (const input of Object.keys(byPath.get(path).inputs))
      if (LAZY.test(relative(dist, join(root, input)))) die(`${entry}: ${input} is loaded at start: import it dynamically`);
}

if (existsSync(esbuildMain)) {
  const esbuild = await import(esbuildMain);
  const lazyTargets = findLazyTargets();
  for (const [entry, out] of bundles) {
    const r = await esbuild.build({
      entryPoints: { [basename(out, '.mjs')]: join(root, entry) },
      outdir: join(root, dirname(out)),
      outExtension: { '.js': '.mjs' },
      chunkNames: 'nsbox-[name]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['ffi-rs', 'tar', 'undici', 'fzstd'],
      plugins: [splitOnce(lazyTargets)],
      metafile: true,
      logLevel: 'warning',
      // commander is CommonJS, and inlined imports are require()s: give each file a require()
      banner: { js: "import { createRequire as __nsboxRequire } from 'node:module'; const require = __nsboxRequire(import.meta.url);" },
    }).catch(() => die(`esbuild ${entry} failed`));
    checkShape(out, r.metafile);
    chmodSync(join(root, out), 0o755);
  }
} else {
  for (const [entry, out] of bundles) {
    writeFileSync(join(root, out), `#!/usr/bin/env node\nimport './${basename(entry)}';\n`);
    chmodSync(join(root, out), 0o755);
  }
}
console.log('nsbox build: native shims, TypeScript and bundles built');
