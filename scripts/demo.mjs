#!/usr/bin/env node
// The README's main job. Until the blog pod lands (nginx in front of Ghost),
// it brings up a demo pod and shows what a pod is: /pause as PID 1, the pod's
// own hostname and loopback, and an orphan reaped by the pause.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSystemPackages, which } from './lib/system-packages.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'cli', 'nsbox.mjs');
const POD = 'demo';

function die(message) {
  console.error(`nsbox demo: ${message}`);
  process.exit(1);
}

// Root maps ids directly; everyone else needs newuidmap for the full range.
const requirements = [
  { pkg: 'procps', provides: 'ps', ok: () => which('ps') },
  { pkg: 'iproute2', provides: 'ip', ok: () => which('ip') },
  ...(process.getuid() === 0 ? [] : [{ pkg: 'uidmap', provides: 'newuidmap, newgidmap', ok: () => which('newuidmap') && which('newgidmap') }]),
];

const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

function nsbox(args, { show = true, allowFail = false } = {}) {
  if (show) console.log(`\n$ nsbox ${args.map(quote).join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: show ? 'inherit' : 'pipe', encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) die(`nsbox ${args.join(' ')} failed (exit ${r.status})`);
  return r;
}

if (!existsSync(cli)) die('nsbox is not built: run `npm install` (or `npm run build`) first');
ensureSystemPackages(requirements, 'nsbox demo');

const check = nsbox(['check'], { show: false, allowFail: true });
if (check.status !== 0) {
  process.stderr.write(check.stdout);
  die('this machine cannot run rootless pods yet: fix what `nsbox check` reports above');
}

nsbox(['pod', 'rm', '-f', POD], { show: false, allowFail: true });
nsbox(['pod', 'create', '--name', POD]);
nsbox(['pod', 'ls']);
nsbox(['exec', '--join', 'pause', POD, '--', 'ps', 'aux']);
nsbox(['exec', POD, '--', 'sh', '-c', 'echo "hostname: $(hostname)"; ip -brief link 2>/dev/null || cat /proc/net/dev']);
console.log('\n# an orphan: sh exits at once and leaves `sleep 1` behind; the pause adopts and reaps it');
nsbox(['exec', POD, '--', 'sh', '-c', 'sleep 1 & exit 0']);
nsbox(['exec', POD, '--', 'ps', '-eo', 'pid,ppid,stat,args']);
console.log('\n# the orphan has PPID 1 (the pause); 1.5 s later it has exited and no zombie (Z) is left');
await new Promise((r) => setTimeout(r, 1500));
nsbox(['exec', POD, '--', 'ps', '-eo', 'pid,ppid,stat,args']);
console.log(`
The pod "${POD}" is running, supervised in the background. Next:
  node dist/cli/nsbox.mjs exec --join pause ${POD} -- ps aux     # the pause is PID 1
  node dist/cli/nsbox.mjs exec -it ${POD} -- sh                  # a shell in the pod
  node dist/cli/nsbox.mjs pod ls                                # list pods
  node dist/cli/nsbox.mjs pod rm -f ${POD}                       # tear it down
(\`npm link\` puts \`nsbox\` on your PATH.)`);
