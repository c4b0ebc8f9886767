// Published ports through the builtin forwarder: a host socket held by a
// process inside the pod's network namespace, forwarding to the pod's
// loopback. TCP and UDP; podman's -p syntax.
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod } from '../dist/index.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, freePortRange } from './helpers/net.js';
import { leftoverProcesses, watchPod } from './helpers/leftovers.js';
import { childrenOf, isGoneOrZombie, nsbox, podDirs, removeAllPods, waitFor } from './helpers/nsbox.js';

let root: string;

async function get(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/hello.txt`);
  return res.text();
}

/** Resolves 'refused' when nothing listens, 'closed' when the peer closes without answering. */
function probe(port: number): Promise<'refused' | 'closed' | 'data'> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : 'closed'));
    s.on('data', () => resolve('data'));
    s.on('close', () => resolve('closed'));
    s.on('connect', () => s.write('GET / HTTP/1.0\r\n\r\n'));
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

describe(`published ports (${testMode})`, () => {
  it('forwards a host port to the pod, lists it, and closes it when the pod goes', async () => {
    const port = await freePort();
    expect(nsbox(root, ['pod', 'create', '--name', 'web', '-p', `127.0.0.1:${port}:80`]).code).toBe(0);
    expect(nsbox(root, ['port', 'web']).stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n`);
    expect(nsbox(root, ['pod', 'ls']).stdout).toMatch(new RegExp(`web .*127\\.0\\.0\\.1:${port}->80/tcp`));
    expect(JSON.parse(nsbox(root, ['pod', 'inspect', 'web']).stdout).record.ports).toEqual([{ hostIp: '127.0.0.1', hostPort: port, podPort: 80, protocol: 'tcp' }]);
    // No backend yet: the client sees the connection close at once, and the forwarder keeps serving.
    expect(await probe(port)).toBe('closed');
    expect(nsbox(root, ['run', '-d', '--pod', 'web', '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']).code).toBe(0);
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) {
      body = await get(port).catch(() => '');
      if (!body) await new Promise((r) => setTimeout(r, 50));
    }
    expect(body).toBe('hello from the image\n');
    const many = await Promise.all(Array.from({ length: 50 }, () => get(port)));
    expect(new Set(many)).toEqual(new Set(['hello from the image\n']));
    const supervisor = (JSON.parse(nsbox(root, ['pod', 'inspect', 'web']).stdout) as { supervisorPid: number }).supervisorPid;
    const [forwarder] = childrenOf(supervisor, 'nsbox-forward');
    expect(forwarder).toBeGreaterThan(0);
    const watch = watchPod(root, 'web');
    expect(nsbox(root, ['pod', 'rm', '-f', 'web']).code).toBe(0);
    expect(await probe(port)).toBe('refused');
    await waitFor(() => isGoneOrZombie(forwarder!), 5000, 'the forwarder to exit');
    expect(await leftoverProcesses(root, [watch])).toEqual([]);
    watch.close();
  });

  it('refuses a host port already in use, leaving no pod', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = nsbox(root, ['pod', 'create', '--name', 'clash', '-p', `127.0.0.1:${port}:80`]);
      expect(r.code).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/address already in use/);
      expect(podDirs(root)).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  it('maps a port range, and survives two thousand connections (resets, stalled readers, half-closes) without leaking fds', async () => {
    // One -p with a range on both sides: host port N -> pod port 80, N+1 -> 81.
    let port = 0;
    let created = { code: -1, stderr: '' };
    for (let attempt = 0; attempt < 5 && created.code !== 0; attempt++) {
      port = await freePortRange(2);
      created = nsbox(root, ['pod', 'create', '--name', 'load', '-p', `127.0.0.1:${port}-${port + 1}:80-81`]);
      if (created.code !== 0) expect(created.stderr, 'only a port taken meanwhile may fail the create').toMatch(/address already in use/);
    }
    expect(created.code, created.stderr).toBe(0);
    const port2 = port + 1;
    expect(nsbox(root, ['port', 'load']).stdout).toBe(`80/tcp -> 127.0.0.1:${port}\n81/tcp -> 127.0.0.1:${port2}\n`);
    expect(nsbox(root, ['run', '-d', '--pod', 'load', '--name', 'httpd', 'busybox', 'sh', '-c', 'head -c 1048576 /dev/zero > /srv/big; exec httpd -f -p 80 -h /srv']).code).toBe(0);
    for (let i = 0; i < 100 && !(await get(port).catch(() => '')); i++) await new Promise((r) => setTimeout(r, 50));
    const supervisor = (JSON.parse(nsbox(root, ['pod', 'inspect', 'load']).stdout) as { supervisorPid: number }).supervisorPid;
    const [forwarder] = childrenOf(supervisor, 'nsbox-forward');
    const fds = () => readdirSync(`/proc/${forwarder}/fd`).length;
    const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${forwarder}/status`, 'utf8'))![1]);
    const before = fds();
    // Half-close against an echo server (busybox nc -ll -e cat): the client
    // sends, shuts down its side, and must still read the whole echo.
    expect(nsbox(root, ['run', '-d', '--pod', 'load', '--name', 'echo', 'busybox', 'nc', '-ll', '-p', '81', '-e', '/bin/cat']).code).toBe(0);
    const halfClose = () =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: port2, allowHalfOpen: true }, () => s.end('ping through a half-closed socket'));
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
        s.on('error', () => resolve(data));
      });
    let echoed = '';
    for (let i = 0; i < 100 && echoed === ''; i++) {
      echoed = await halfClose();
      if (!echoed) await new Promise((r) => setTimeout(r, 50));
    }
    expect(echoed).toBe('ping through a half-closed socket');
    const reset = () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.resetAndDestroy();
          resolve();
        });
        s.on('error', () => resolve());
      });
    const stalled = () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => s.write('GET /big HTTP/1.0\r\n\r\n'));
        s.pause(); // never reads the megabyte
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 200);
        s.on('error', () => resolve());
      });
    let rssAfterFirstRound = 0;
    for (let round = 0; round < 20; round++) {
      // Resets and stalled readers hit the forwarder all at once; the echo
      // server (one nc per connection, small backlog) gets one at a time.
      const noise = Promise.all([...Array.from({ length: 80 }, reset), ...Array.from({ length: 20 }, stalled)]);
      for (let i = 0; i < 5; i++) expect(await halfClose()).toBe('ping through a half-closed socket');
      await noise;
      if (round === 0) rssAfterFirstRound = rssKiB();
    }
    await waitFor(() => fds() <= before, 5000, 'the forwarder to release every connection');
    expect(fds()).toBe(before);
    // Memory is a figure for the benchmark (scripts/bench-ports.mjs), not a
    // threshold here: a sampled RSS moves with the allocator, not only with leaks.
    console.log(`forwarder after 2000 connections: ${fds()} fds (${before} before), RSS ${rssAfterFirstRound} -> ${rssKiB()} KiB`);
    expect(await get(port)).toBe('hello from the image\n');
    expect(nsbox(root, ['pod', 'rm', '-f', 'load']).code).toBe(0);
  });

  it('publishes free host ports for -p 80, -p IP::80 and -p 0:80: each is bound, recorded, reported and answers', async () => {
    const r = nsbox(root, ['pod', 'create', '--name', 'random', '-p', '80', '-p', '127.0.0.1::81', '-p', '0:82/udp']);
    expect(r.code, r.stderr).toBe(0);
    const ports = JSON.parse(nsbox(root, ['pod', 'inspect', 'random']).stdout).record.ports as { hostIp: string; hostPort: number; podPort: number; protocol: string }[];
    expect(ports.map((p) => [p.hostIp, p.podPort, p.protocol])).toEqual([['0.0.0.0', 80, 'tcp'], ['127.0.0.1', 81, 'tcp'], ['0.0.0.0', 82, 'udp']]);
    for (const p of ports) expect(p.hostPort, JSON.stringify(p)).toBeGreaterThan(0);
    expect(new Set(ports.map((p) => p.hostPort)).size).toBe(3);
    expect(nsbox(root, ['port', 'random']).stdout).toBe(`80/tcp -> 0.0.0.0:${ports[0]!.hostPort}\n81/tcp -> 127.0.0.1:${ports[1]!.hostPort}\n82/udp -> 0.0.0.0:${ports[2]!.hostPort}\n`);
    // The recorded port is the one that serves.
    expect(nsbox(root, ['run', '-d', '--pod', 'random', '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '81', '-h', '/srv']).code).toBe(0);
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) {
      body = await get(ports[1]!.hostPort).catch(() => '');
      if (!body) await new Promise((res) => setTimeout(res, 50));
    }
    expect(body).toBe('hello from the image\n');
    // A second pod asking the same gets other ports.
    expect(nsbox(root, ['pod', 'create', '--name', 'random2', '-p', '80']).code).toBe(0);
    const other = JSON.parse(nsbox(root, ['pod', 'inspect', 'random2']).stdout).record.ports[0].hostPort as number;
    expect(ports.map((p) => p.hostPort)).not.toContain(other);
    for (const pod of ['random', 'random2']) expect(nsbox(root, ['pod', 'rm', '-f', pod]).code).toBe(0);
  });

  it('rejects bad port specs with one line', () => {
    for (const bad of ['99999:80', 'abc', '0', '8080:80/sctp', '1.2.3:80:80', '8080-8082:80-81', '8082-8080:80-82', '1:2:3:4']) {
      const r = nsbox(root, ['pod', 'create', '--name', 'bad', '-p', bad]);
      expect(r.code, bad).toBe(125);
      expect(r.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(r.stderr, bad).toMatch(/port|protocol|address/);
    }
    expect(podDirs(root)).toEqual([]);
  });

  it('--network none is loopback only and publishes nothing', () => {
    const refused = nsbox(root, ['pod', 'create', '--name', 'iso', '--network', 'none', '-p', '18081:80']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/--network none publishes no ports/);
    expect(nsbox(root, ['pod', 'create', '--name', 'iso', '--network', 'none']).code).toBe(0);
    expect(nsbox(root, ['exec', 'iso', '--', 'cat', '/proc/net/dev']).stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(':')[0]!.trim())).toEqual(['lo']);
    expect(nsbox(root, ['pod', 'rm', '-f', 'iso']).code).toBe(0);
  });

  it('forwards UDP both ways, a flow per client, and frees the port with the pod', async () => {
    const port = await freePort();
    const pod = await createPod({ root, name: 'udp', ports: [`127.0.0.1:${port}:5353/udp`] });
    // A UDP echo server in the pod's network namespace that says who sent each datagram.
    const server = pod.exec([
      process.execPath,
      '-e',
      `const s = require('dgram').createSocket('udp4');
       s.on('message', (m, r) => m.toString() === 'quit' ? s.close() : s.send(r.address + ' ' + m, r.port, r.address));
       s.bind(5353, '127.0.0.1'); setTimeout(() => process.exit(3), 30000).unref();`,
    ]);
    const ask = async (text: string): Promise<string> => {
      const client = createSocket('udp4');
      try {
        for (let i = 0; i < 100; i++) {
          const reply = new Promise<string>((resolve) => {
            client.once('message', (m) => resolve(m.toString()));
            setTimeout(() => resolve(''), 100);
          });
          client.send(text, port, '127.0.0.1');
          const got = await reply;
          if (got) return got;
        }
        return '';
      } finally {
        client.close();
      }
    };
    try {
      expect(await ask('one')).toBe('127.0.0.1 one');
      const [a, b] = await Promise.all([ask('from a'), ask('from b')]);
      expect([a, b]).toEqual(['127.0.0.1 from a', '127.0.0.1 from b']);
      const quitter = createSocket('udp4');
      quitter.send('quit', port, '127.0.0.1', () => quitter.close());
      expect((await server).exitCode).toBe(0);
    } finally {
      await pod.remove({ force: true });
    }
    // The host port is free again.
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(port, '127.0.0.1', () => resolve());
    });
    again.close();
  });

  it('publishes ports of library pods too', async () => {
    const port = await freePort();
    const pod = await createPod({ root, name: 'lib-web', ports: [`127.0.0.1:${port}:8080`] });
    try {
      await pod.run('busybox', { name: 'httpd', command: ['httpd', '-f', '-p', '8080', '-h', '/srv'] });
      let body = '';
      for (let i = 0; i < 100 && body === ''; i++) {
        body = await get(port).catch(() => '');
        if (!body) await new Promise((r) => setTimeout(r, 50));
      }
      expect(body).toBe('hello from the image\n');
    } finally {
      await pod.remove({ force: true });
    }
    expect(await probe(port)).toBe('refused');
  });
});
