// --network pasta: pasta (Debian passt) attached to the pod gives it an
// interface with outbound access and serves the published ports. Needs a
// usable /dev/net/tun; where there is none, the error path is all that can
// run, and the test says so out loud.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod } from '../dist/index.js';
import { pastaSupport } from '../dist/net/pasta-support.js';
// @ts-expect-error: a plain .mjs helper of the rootfs recipes
import { debianMirrors } from '../rootfs/lib/debian.mjs';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { nsbox, podDirs, processesMentioning, removeAllPods } from './helpers/nsbox.js';

const support = pastaSupport();
let root: string;

async function getWithRetry(url: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const body = await fetch(url)
      .then((r) => r.text())
      .catch(() => '');
    if (body) return body;
    await new Promise((r) => setTimeout(r, 50));
  }
  return '';
}

/** Resolves true if a connection to host:port gets through to `server` within `ms`. */
function reaches(server: ReturnType<typeof createServer>, connectFromPod: () => Promise<unknown>, ms = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    server.once('connection', () => {
      clearTimeout(timer);
      resolve(true);
    });
    void connectFromPod();
  });
}

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(() => {
  removeAllPods(root);
  cleanupRoot(root);
});

describe(`--network pasta (${testMode})`, () => {
  it('nsbox check reports which network modes this machine can use', () => {
    const report = JSON.parse(nsbox(root, ['check', '--format', 'json']).stdout) as { checks: { id: string; status: string; detail: string }[] };
    const network = report.checks.find((c) => c.id === 'network')!;
    expect(network.detail).toMatch(/builtin/);
    expect(network.status).toBe(support.ok ? 'ok' : 'warn');
    expect(network.detail.includes('pasta (/')).toBe(support.ok);
  });

  if (!support.ok) {
    it('is refused with the reason and the fix, as pasta cannot run here', () => {
      console.warn(`\n*** --network pasta is NOT usable here (${support.problem}): only its error path is tested in ${testMode} mode ***\n`);
      const r = nsbox(root, ['pod', 'create', '--name', 'nopasta', '--network', 'pasta']);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(support.fix);
      expect(podDirs(root)).toEqual([]);
    });
    return;
  }

  it('gives the pod outbound access and publishes TCP ports, and goes with the pod', async () => {
    const port = await freePort();
    expect(nsbox(root, ['pod', 'create', '--name', 'web', '--network', 'pasta', '-p', `127.0.0.1:${port}:8080`]).code).toBe(0);
    expect(JSON.parse(nsbox(root, ['pod', 'inspect', 'web']).stdout).record.network).toBe('pasta');
    expect(nsbox(root, ['port', 'web']).stdout).toBe(`8080/tcp -> 127.0.0.1:${port}\n`);
    // An interface besides lo, set up by pasta from the host's.
    const links = nsbox(root, ['exec', 'web', '--', 'cat', '/proc/net/dev']).stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim());
    expect(links.length).toBeGreaterThan(1);
    // Outbound: the Debian mirror this machine's apt uses (the network here reaches it).
    const { main } = debianMirrors('bookworm');
    const release = nsbox(root, ['run', '--pod', 'web', 'busybox', 'wget', '-q', '-O', '-', `${main}/dists/bookworm/Release`]);
    expect(release.stdout).toMatch(/^Origin: Debian/m);
    // Published port, served by pasta.
    expect(nsbox(root, ['run', '-d', '--pod', 'web', '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/srv']).code).toBe(0);
    expect(await getWithRetry(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    const [pasta] = processesMentioning(`--tcp-ports 127.0.0.1/${port}:8080`);
    expect(pasta).toBeGreaterThan(0);
    expect(nsbox(root, ['pod', 'rm', '-f', 'web']).code).toBe(0);
    expect(processesMentioning(`--tcp-ports 127.0.0.1/${port}:8080`)).toEqual([]);
    // The host port is closed when rm returns.
    expect(await portRefused(port)).toBe(true);
  });

  it('library pods: the service sees 127.0.0.1 for host clients, and the host loopback stays out of reach', async () => {
    const port = await freePort();
    const pod = await createPod({ root, name: 'lib', network: 'pasta', ports: [`127.0.0.1:${port}:8080`] });
    const hostService = createServer((s) => s.destroy());
    await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', () => r()));
    const hostPort = (hostService.address() as { port: number }).port;
    try {
      const server = pod.exec([
        process.execPath,
        '-e',
        `require('http').createServer((q, s) => { s.end(q.socket.remoteAddress); q.socket.server.close(); }).listen(8080, '0.0.0.0');
         setTimeout(() => process.exit(3), 20000).unref();`,
      ]);
      expect(await getWithRetry(`http://127.0.0.1:${port}/`)).toBe('127.0.0.1');
      expect((await server).exitCode).toBe(0);
      // A service on the host (all addresses) is not reachable from the pod,
      // neither on the pod's own loopback nor through the gateway address.
      const gateway = pod.exec(['sh', '-c', "awk '$2 == \"00000000\" { print $3 }' /proc/net/route"]);
      const hex = (await gateway).stdout.trim();
      const gw = hex ? hex.match(/../g)!.reverse().map((b) => parseInt(b, 16)).join('.') : '';
      // The probe itself works: from the host, the service is reached.
      expect(await reaches(hostService, () => new Promise((r) => connect({ host: '127.0.0.1', port: hostPort }, function (this: Socket) { this.destroy(); r(null); })))).toBe(true);
      expect(await reaches(hostService, () => pod.exec(['busybox', 'nc', '-w', '1', '127.0.0.1', String(hostPort)]))).toBe(false);
      // pasta copies the host's default route, so there is a gateway to try (a missing one would hide this check).
      expect(gw).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(await reaches(hostService, () => pod.exec(['busybox', 'nc', '-w', '1', gw, String(hostPort)]))).toBe(false);
    } finally {
      hostService.close();
      await pod.remove({ force: true });
    }
  });

  it('a pasta that fails takes the pod down and reports why, in one line', () => {
    // A stand-in pasta that fails as the real one does on a port clash.
    const bin = join(root, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'pasta'), '#!/bin/sh\necho "Failed to bind port 8080 (Address already in use)" >&2\nexit 1\n');
    chmodSync(join(bin, 'pasta'), 0o755);
    const r = nsbox(root, ['pod', 'create', '--name', 'broken', '--network', 'pasta', '-p', '127.0.0.1:18089:80'], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/pasta could not publish the ports: Failed to bind port 8080/);
    expect(podDirs(root)).toEqual([]);
    expect(processesMentioning(join(bin, 'pasta'))).toEqual([]);
  });
});
