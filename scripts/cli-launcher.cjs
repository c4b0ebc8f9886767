#!/usr/bin/env node
'use strict';
// nsbox's bin (the build writes it to dist/cli/nsbox.cjs with the bundle's
// hash filled in). It runs the CLI bundle beside it, nsbox-cli.cjs, with
// V8's code cache for the verb: compiling the bundle anew costs ~10 ms of
// every call. The cache lives in the user's own cache directory
// ($XDG_CACHE_HOME or ~/.cache, then nsbox/cli), only when that directory is
// this user's and writable by nobody else, since a code cache is code. It
// is keyed by the bundle's hash (V8 itself checks only the source's length),
// Node's version and the verb, and written once, at exit, when missing or
// rejected; files of another bundle or Node are removed then.
// NSBOX_CLI_CACHE=off runs without it; NSBOX_CLI_CACHE=DIR puts it in DIR.
// This file is CommonJS: an ES module entry costs ~5 ms more.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const BUNDLE_HASH = '@BUNDLE_HASH@';
const bundle = path.join(__dirname, 'nsbox-cli.cjs');
/** Verbs whose subcommand is part of the verb (`pod create`, `image ls`). */
const GROUPS = new Set(['pod', 'image', 'volume', 'network', 'kube', 'system', 'healthcheck', 'container']);

function verbOf(argv) {
  const words = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i];
    if (a === '--root') i++;
    else if (!a.startsWith('-')) words.push(a);
  }
  const verb = (GROUPS.has(words[0]) && words[1] ? words.join('-') : words[0] || 'none').toLowerCase();
  return /^[a-z][a-z-]{0,40}$/.test(verb) ? verb : 'other';
}

/** The private cache directory, or null. */
function cacheDir() {
  const setting = process.env.NSBOX_CLI_CACHE;
  if (setting === 'off') return null;
  const home = process.env.HOME;
  const base = process.env.XDG_CACHE_HOME || (home ? path.join(home, '.cache') : null);
  const dir = setting || (base ? path.join(base, 'nsbox', 'cli') : null);
  if (!dir || !path.isAbsolute(dir)) return null;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.statSync(dir);
    return st.isDirectory() && st.uid === process.getuid() && (st.mode & 0o022) === 0 ? dir : null;
  } catch {
    return null;
  }
}

/** The cache file's bytes, if it is this user's and nobody else can write it. */
function readPrivate(file) {
  let fd = -1;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid() || (st.mode & 0o022) !== 0) return undefined;
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function run() {
  const dir = cacheDir();
  if (!dir) return void require(bundle);
  const prefix = `cli-${BUNDLE_HASH}-${process.version}-${process.arch}-`;
  const file = path.join(dir, `${prefix}${verbOf(process.argv.slice(2))}.v8`);
  const cachedData = readPrivate(file);
  const source = fs.readFileSync(bundle, 'latin1'); // ASCII only (the build checks): no UTF-8 decoding
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    // At exit, after a call that worked (a mistyped verb leaves no file): by then the verb's own functions are compiled too.
    process.once('exit', (code) => {
      if (code !== 0) return;
      try {
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
        // Those of another bundle or Node are stale for good.
        for (const name of fs.readdirSync(dir)) if (name.startsWith('cli-') && !name.startsWith(prefix)) fs.rmSync(path.join(dir, name), { force: true });
      } catch {
        // no cache this time
      }
    });
  }
  const module = { exports: {}, filename: bundle, id: bundle };
  script.runInThisContext()(module.exports, require, module, bundle, __dirname);
}

run();
