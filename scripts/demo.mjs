#!/usr/bin/env node
// The README's main job (`npm install && npm run demo`): the reference blog
// pod. It builds (or takes from the cache) the nginx and Ghost rootfs
// tarballs, imports them, creates the pod `blog` publishing 8080:80, runs
// Ghost on 127.0.0.1:2368 and nginx with the reference configuration in it,
// waits until http://localhost:8080 serves Ghost's home page, and leaves the
// pod running with a list of what to try next. Rootless unless run as root.
import { existsSync } from 'node:fs';
import { ensureSystemPackages, which } from './lib/system-packages.mjs';
import { blogCommands, cliPath, displayCommand, ensureImage, imageNameFor, kubeBlogCommands, nsbox, waitForBlog } from './lib/blog-pod.mjs';

const POD = 'blog';
const HOST_PORT = 8080;
const URL = `http://localhost:${HOST_PORT}`;

function die(message) {
  console.error(`nsbox demo: ${message}`);
  process.exit(1);
}
const step = (text) => console.log(`\n# ${text}`);
const show = (args) => console.log(`$ nsbox ${displayCommand(args)}`);

function run(args, { quiet = false } = {}) {
  show(args);
  const r = nsbox(args, { stdio: quiet ? 'pipe' : 'inherit' });
  if (r.code !== 0) die(`\`nsbox ${args.slice(0, 2).join(' ')}\` failed (exit ${r.code})${r.stderr ? `: ${r.stderr.trim()}` : ''}`);
  return r;
}

if (!existsSync(cliPath)) die('nsbox is not built: run `npm install` (or `npm run build`) first');
const isRoot = process.getuid() === 0;
ensureSystemPackages(
  [
    { pkg: 'procps', provides: 'ps', ok: () => which('ps') },
    // The rootfs recipes: Debian packages via mmdebstrap (rootless: --mode=unshare).
    { pkg: 'mmdebstrap', provides: 'mmdebstrap', ok: () => which('mmdebstrap') },
    ...(isRoot ? [] : [{ pkg: 'uidmap', provides: 'newuidmap, newgidmap', ok: () => which('newuidmap') && which('newgidmap') }]),
  ],
  'nsbox demo',
);

const check = nsbox(['check']);
if (check.code !== 0) {
  process.stderr.write(check.stdout);
  die('this machine cannot run rootless pods yet: fix what `nsbox check` reports above');
}
console.log(isRoot ? 'nsbox demo: running as root, so the pod runs in root mode; as a regular user the same command runs it rootless.' : `nsbox demo: rootless, as uid ${process.getuid()}.`);

step('rootfs tarballs from the recipes in rootfs/ (cached; the first Ghost build takes minutes)');
const { buildRootfsDetails } = await import('../rootfs/build.mjs');
const tarballs = {};
for (const name of ['nginx', 'ghost']) {
  const d = await buildRootfsDetails(name, { log: (m) => console.error(`  ${name}: ${m}`) });
  tarballs[name] = d.path;
  console.log(`  ${name}: ${d.path} (${d.cached ? 'cached' : `built in ${Math.round(d.seconds)} s`})`);
}

step('images (named after the recipe hash, imported once)');
const images = {};
for (const name of ['nginx', 'ghost']) {
  images[name] = imageNameFor(name, tarballs[name]);
  show(['image', 'import', tarballs[name], '--name', images[name]]);
  const imported = ensureImage(images[name], tarballs[name], { stdio: 'inherit' });
  if (!imported) console.log(`  (already imported as ${images[name]})`);
}

if (nsbox(['pod', 'inspect', POD]).code === 0) {
  step(`a pod named ${POD} exists from an earlier run: removing it`);
  run(['pod', 'rm', '-f', POD], { quiet: true });
}

step(`the pod: Ghost on 127.0.0.1:2368, nginx on :80 in front of it, published on ${URL}`);
const started = Date.now();
// --kube: the same pod from scripts/blog/blog-pod.yaml (its hostPort is 8080).
const commands = process.argv.includes('--kube') ? kubeBlogCommands({ ghostImage: images.ghost, nginxImage: images.nginx }) : blogCommands({ pod: POD, publish: `${HOST_PORT}:80`, url: URL, ghostImage: images.ghost, nginxImage: images.nginx });
for (const args of commands) run(args);
const created = Date.now();

step(`waiting for ${URL} to serve Ghost's home page`);
let served;
try {
  served = await waitForBlog(`${URL}/`, 180_000);
} catch (err) {
  console.error(`\nnsbox demo: ${err.message}; the containers' logs:`);
  for (const c of ['ghost', 'nginx']) nsbox(['logs', '--tail', '20', `${POD}/${c}`], { stdio: 'inherit' });
  die(`the blog did not come up; the pod is left for inspection (remove it with \`nsbox pod rm -f ${POD}\`)`);
}
const total = (Date.now() - started) / 1000;
console.log(`  "${served.title}" served through nginx ${total.toFixed(1)} s after pod create (nsbox's own part: ${((created - started) / 1000).toFixed(2)} s; the rest is Ghost booting)`);

step('the pod, from its pause process');
run(['exec', '--join', 'pause', POD, '--', 'ps', 'aux']);

const n = 'node dist/cli/nsbox.cjs';
const tips = [
  [`curl -s ${URL} | grep '<title>'`, "Ghost's home page, through nginx"],
  [`${n} exec --join pause ${POD} -- ps aux`, '/pause is PID 1; nginx and node beside it'],
  [`${n} ps --pod ${POD}`, 'the containers'],
  [`${n} logs -f ${POD}/nginx`, `nginx's access log (${POD}/ghost: Ghost's log)`],
  [`${n} stop ${POD}/ghost; curl -sI ${URL}`, 'nginx answers 502 while Ghost is down...'],
  [`${n} start ${POD}/ghost`, '...and recovers once it is back'],
  [`${n} pod rm -f ${POD}`, 'tear it all down: processes, ports, files'],
];
const width = Math.max(...tips.map(([c]) => c.length));
console.log(`
The blog pod is running (supervised in the background). Try:
${tips.map(([c, what]) => `  ${c.padEnd(width)}   # ${what}`).join('\n')}
(alias nsbox="node $PWD/dist/cli/nsbox.cjs" saves typing.)`);
