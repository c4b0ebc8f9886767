#!/usr/bin/env node
// Builds a rootfs tarball from a recipe in rootfs/<name>/ (or finds it in the
// cache) and prints its path as the last line of stdout. Progress and the
// final summary go to stderr.
//
//   node scripts/build-rootfs.mjs busybox
//   node scripts/build-rootfs.mjs nginx --out /tmp/nginx.tar --format json
//
// Exit codes: 0 built or cached; 1 error (one line on stderr); 2 usage;
// 130/143 interrupted by SIGINT/SIGTERM (temp files removed, nothing cached).
import { parseArgs } from 'node:util';
import { buildRootfsDetails, defaultCacheDir, listRecipes, RECIPES_DIR, RootfsError } from '../rootfs/build.mjs';

const TOOL = 'build-rootfs';

function usage(recipesDir) {
  let names = 'busybox|nginx';
  try {
    names = listRecipes(recipesDir).join('|') || names;
  } catch {
    // keep the default list
  }
  return `usage: ${TOOL} <${names}> [--out FILE] [--cache-dir DIR] [--force] [--format text|json] [--recipes-dir DIR] [--no-install] [--quiet]

  Builds the rootfs tarball of a recipe in rootfs/<name>/, cached as
  <cache-dir>/<name>-<hash>.tar (hash of the recipe files), and prints its
  path (or, with --format json, a JSON object) as the last line of stdout.

  --out FILE         also copy the tarball to FILE and print FILE
  --cache-dir DIR    default $XDG_CACHE_HOME/nsbox/rootfs or ~/.cache/nsbox/rootfs
                     (now: ${(() => {
                       try {
                         return defaultCacheDir();
                       } catch {
                         return 'unset';
                       }
                     })()})
  --force            rebuild even if the cached tarball exists
  --format json      print {name,path,cachePath,hash,cached,bytes,seconds}
  --recipes-dir DIR  read recipes from DIR instead of ${RECIPES_DIR}
  --no-install       as root, do not apt-get install missing tools
  --quiet            no progress on stderr (errors still go there)`;
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'cache-dir': { type: 'string' },
      force: { type: 'boolean', default: false },
      format: { type: 'string', default: 'text' },
      'recipes-dir': { type: 'string' },
      'no-install': { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (e) {
  console.error(`${TOOL}: ${e.message}`);
  console.error(usage());
  process.exit(2);
}
const { values: o, positionals } = parsed;
if (o.help) {
  console.log(usage(o['recipes-dir']));
  process.exit(0);
}
if (positionals.length !== 1 || !['text', 'json'].includes(o.format)) {
  console.error(positionals.length !== 1 ? `${TOOL}: expected one recipe name` : `${TOOL}: --format must be text or json`);
  console.error(usage(o['recipes-dir']));
  process.exit(2);
}

const controller = new AbortController();
let interrupted = null;
const SIGNO = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };
for (const sig of Object.keys(SIGNO)) {
  process.on(sig, () => {
    if (interrupted) {
      // second signal: give up waiting for children; the exit hook removes temps
      console.error(`${TOOL}: ${sig} again, exiting now`);
      process.exit(128 + SIGNO[sig]);
    }
    interrupted = sig;
    console.error(`${TOOL}: ${sig}: stopping the build and removing temp files`);
    controller.abort(sig);
  });
}

try {
  const r = await buildRootfsDetails(positionals[0], {
    out: o.out,
    cacheDir: o['cache-dir'],
    force: o.force,
    recipesDir: o['recipes-dir'],
    install: !o['no-install'],
    log: o.quiet ? false : undefined,
    signal: controller.signal,
  });
  if (o.format === 'json') process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${r.path}\n`);
  process.exitCode = 0;
} catch (e) {
  if (interrupted) {
    console.error(`${TOOL}: interrupted by ${interrupted}; no tarball was cached`);
    process.exit(128 + SIGNO[interrupted]);
  }
  if (e instanceof RootfsError || e?.code === 'ENOTOOL') {
    if (e.details?.length && !o.quiet) for (const l of e.details.slice(-15)) console.error(`  | ${l}`);
    console.error(`${TOOL}: ${e.message}`);
  } else {
    console.error(`${TOOL}: ${positionals[0]}: ${e?.message ?? e}`);
  }
  process.exit(1);
}
