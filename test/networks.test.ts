// User-defined networks: pods on one network reach each other by pod name,
// container name and alias; pods on another network, and the host's
// loopback, stay out of reach; connect/disconnect; refusals; the holders
// go with the last network. Real namespaces, busybox's wget and httpd.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, fetchWhenUp } from './helpers/net.js';
import { leftoverProcesses } from './helpers/leftovers.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { nsbox, removeAllPods } from './helpers/nsbox.js';

let root: string;

const ok = (args: string[]) => {
  const r = nsbox(root, args);
  if (r.code !== 0) throw new Error(`nsbox ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};

/** busybox wget from a container in `pod`: the body, or null when it could not fetch. */
function fetchFrom(pod: string, url: string): string | null {
  const r = nsbox(root, ['run', '--rm', '--pod', pod, 'busybox', 'timeout', '3', 'wget', '-qO-', url]);
  return r.code === 0 ? r.stdout : null;
}

function httpd(pod: string, name = 'httpd'): void {
  ok(['run', '-d', '--pod', pod, '--name', name, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']);
}

const ipOf = (pod: string, net: string): string => JSON.parse(ok(['pod', 'inspect', pod])).NetworkSettings.Networks[net].IPAddress;

interface Holders {
  userns: number;
  networks: number[];
}

function holders(): Holders {
  const userns = JSON.parse(readFileSync(join(root, 'networks', 'userns.json'), 'utf8')).holder.pid as number;
  const nets = JSON.parse(ok(['network', 'ls', '--format', 'json'])) as { Name: string }[];
  return { userns, networks: nets.map((n) => JSON.parse(readFileSync(join(root, 'networks', n.Name, 'network.json'), 'utf8')).holder.pid as number) };
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').match(/\) Z /);
  } catch {
    return false;
  }
};

let hostServer: Server;
let hostPort: number;

beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
  hostPort = await freePort();
  hostServer = createServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\nhost loopback\n'));
  await new Promise<void>((r) => hostServer.listen(hostPort, '127.0.0.1', r));
  ok(['network', 'create', 'front']);
  ok(['network', 'create', '--subnet', '10.89.42.0/24', '--label', 'team=x', 'back']);
  // a: httpd, alias web; b: a client on the same network; c: on the other network.
  ok(['pod', 'create', '--name', 'a', '--network', 'front', '--network-alias', 'web']);
  httpd('a');
  ok(['pod', 'create', '--name', 'b', '--network', 'front']);
  ok(['pod', 'create', '--name', 'c', '--network', 'back']);
  ok(['pod', 'create', '--name', 'd', '--network', 'back', '--network-alias', 'dee']);
  httpd('d');
}, 120_000);

afterAll(() => {
  hostServer?.close();
  removeAllPods(root);
  for (const n of ['front', 'back', 'extra', 'heal']) nsbox(root, ['network', 'rm', '-f', n]);
  cleanupRoot(root);
});

describe(`user networks (${testMode})`, { timeout: 120_000 }, () => {
  it('lists and inspects networks in podman\'s shape', () => {
    const nets = JSON.parse(ok(['network', 'ls', '--format', 'json'])) as Record<string, unknown>[];
    expect(nets.map((n) => n.Name)).toEqual(['front', 'back']);
    expect(nets[0]).toMatchObject({ Driver: 'bridge', NetworkInterface: 'nsbox0', Subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }], Internal: false });
    const back = JSON.parse(ok(['network', 'inspect', 'back']))[0];
    expect(back).toMatchObject({ Name: 'back', Subnets: [{ subnet: '10.89.42.0/24', gateway: '10.89.42.1' }], Labels: { team: 'x' } });
    expect(Object.values(back.Containers).map((m) => (m as { Name: string }).Name).sort()).toEqual(['c', 'd']);
    const a = JSON.parse(ok(['pod', 'inspect', 'a']));
    expect(a.InfraConfig.Networks).toEqual(['front']);
    expect(a.NetworkSettings.Networks.front).toMatchObject({ IPAddress: '10.89.0.2', IPPrefixLen: 24, Gateway: '10.89.0.1', Aliases: ['web'], InterfaceName: 'eth0' });
  });

  it('pods on one network reach each other by pod name, container name and alias', () => {
    for (const host of ['a', 'httpd', 'web', ipOf('a', 'front')]) expect(fetchFrom('b', `http://${host}/hello.txt`), host).toBe('hello from the image\n');
    expect(fetchFrom('c', 'http://dee/hello.txt')).toBe('hello from the image\n');
  });

  it('a pod on another network reaches none of them, even with a route (positive control: its own network)', () => {
    // c's own network works (control), and the names of front are not known there.
    expect(fetchFrom('c', `http://${ipOf('d', 'back')}/hello.txt`)).toBe('hello from the image\n');
    expect(fetchFrom('c', 'http://a/hello.txt')).toBeNull();
    // Give c and a a route to everything through their interface: still no path between the networks.
    ok(['exec', 'c', '--', 'ip', 'route', 'add', 'default', 'dev', 'eth0']);
    ok(['exec', 'a', '--', 'ip', 'route', 'add', '10.89.42.0/24', 'dev', 'eth0']);
    expect(fetchFrom('c', `http://${ipOf('a', 'front')}/hello.txt`)).toBeNull();
    ok(['exec', 'a', '--', 'ip', 'route', 'del', '10.89.42.0/24', 'dev', 'eth0']);
  });

  it("a pod on a network does not reach the host's 127.0.0.1 (the host does: the control)", async () => {
    expect(await (await fetch(`http://127.0.0.1:${hostPort}/`)).text()).toBe('host loopback\n');
    expect(fetchFrom('b', `http://127.0.0.1:${hostPort}/`)).toBeNull();
    expect(fetchFrom('b', `http://10.89.0.1:${hostPort}/`)).toBeNull();
  });

  it('connect and disconnect: a pod joins a second network with an alias, and leaves it', () => {
    expect(fetchFrom('c', 'http://web/hello.txt')).toBeNull();
    ok(['network', 'connect', '--alias', 'cee', 'front', 'c']);
    expect(fetchFrom('c', 'http://web/hello.txt')).toBe('hello from the image\n');
    expect(fetchFrom('c', 'http://dee/hello.txt')).toBe('hello from the image\n'); // still on back
    httpd('c', 'chttpd');
    expect(fetchFrom('b', 'http://cee/hello.txt')).toBe('hello from the image\n');
    const c = JSON.parse(ok(['pod', 'inspect', 'c']));
    expect(Object.keys(c.NetworkSettings.Networks).sort()).toEqual(['back', 'front']);
    expect(c.NetworkSettings.Networks.front.InterfaceName).toBe('eth1');
    const frontIp = c.NetworkSettings.Networks.front.IPAddress;
    ok(['network', 'disconnect', 'front', 'c']);
    expect(fetchFrom('c', 'http://web/hello.txt')).toBeNull();
    expect(fetchFrom('b', `http://${frontIp}/hello.txt`)).toBeNull();
    expect(fetchFrom('b', 'http://cee/hello.txt')).toBeNull();
    expect(fetchFrom('c', 'http://dee/hello.txt')).toBe('hello from the image\n');
  });

  it('connect refuses a pod not created on a network, and a pod already on it', () => {
    ok(['pod', 'create', '--name', 'plain']);
    const r = nsbox(root, ['network', 'connect', 'front', 'plain']);
    expect(r.code).toBe(125);
    expect(isOneLineRefusal(r)).toBe(true);
    expect(r.stderr).toMatch(/was not created on a user network/);
    const again = nsbox(root, ['network', 'connect', 'front', 'a']);
    expect(again.code).toBe(125);
    expect(again.stderr).toMatch(/already on network front/);
    ok(['pod', 'rm', '-f', 'plain']);
  });

  it('publishes ports of a pod on a network', async () => {
    const port = await freePort();
    ok(['pod', 'create', '--name', 'pub', '--network', 'front', '-p', `127.0.0.1:${port}:80`]);
    httpd('pub');
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    expect(fetchFrom('b', 'http://pub/hello.txt')).toBe('hello from the image\n');
    ok(['pod', 'rm', '-f', 'pub']);
  });

  it('run --network NAME --network-alias: a container in a pod of its own on the network', () => {
    ok(['run', '-d', '--name', 'solo', '--network', 'front', '--network-alias', 'lonely', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']);
    ok(['pod', 'create', '--name', 'late', '--network', 'front']);
    expect(fetchFrom('late', 'http://lonely/hello.txt')).toBe('hello from the image\n');
    expect(fetchFrom('late', 'http://solo/hello.txt')).toBe('hello from the image\n');
    ok(['rm', '-f', 'solo']);
    ok(['pod', 'rm', '-f', 'late']);
  });

  it('network rm is refused while pods are on it, naming them', () => {
    const r = nsbox(root, ['network', 'rm', 'back']);
    expect(r.code).toBe(125);
    expect(isOneLineRefusal(r)).toBe(true);
    expect(r.stderr).toMatch(/network back is in use by pod\(s\) c, d/);
    expect(JSON.parse(ok(['network', 'ls', '--format', 'json'])).map((n: { Name: string }) => n.Name)).toContain('back');
    expect(fetchFrom('c', 'http://dee/hello.txt')).toBe('hello from the image\n');
  });

  it('bad input is one line, exit 125, and leaves no network, pod or process behind', () => {
    const before = holders();
    const cases: [string[], RegExp][] = [
      [['network', 'create', '--subnet', '10.89.7.5/24', 'x1'], /host bits are set/],
      [['network', 'create', '--subnet', 'banana', 'x2'], /invalid subnet "banana"/],
      [['network', 'create', '--subnet', '10.89.42.0/25', 'x3'], /overlaps network back/],
      [['network', 'create', 'front'], /a network named front already exists/],
      [['network', 'create', 'pasta'], /pasta is a network mode/],
      [['network', 'create', 'host'], /host is a network mode/],
      [['network', 'create', 'bad name'], /invalid network name/],
      [['pod', 'create', '--name', 'lost', '--network', 'nowhere'], /no such network: nowhere/],
      [['pod', 'create', '--name', 'lost', '--network', 'front', '--network-alias', 'bad alias'], /invalid network alias/],
      [['network', 'connect', 'nowhere', 'a'], /no such network: nowhere/],
      [['network', 'disconnect', 'back', 'a'], /pod a is not on network back/],
    ];
    for (const [args, message] of cases) {
      const r = nsbox(root, args);
      expect(r.code, args.join(' ')).toBe(125);
      expect(isOneLineRefusal(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(message);
    }
    expect(nsbox(root, ['network', 'inspect', 'nowhere']).code).toBe(125);
    expect(JSON.parse(ok(['network', 'ls', '--format', 'json'])).map((n: { Name: string }) => n.Name)).toEqual(['front', 'back']);
    expect(JSON.parse(ok(['pod', 'ls', '--format', 'json'])).map((p: { Name: string }) => p.Name).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(holders()).toEqual(before);
    expect([before.userns, ...before.networks].every(alive)).toBe(true);
  });

  it('a dead holder is started again on next use: a stale record heals', () => {
    ok(['network', 'create', 'heal']);
    const recordOf = () => JSON.parse(readFileSync(join(root, 'networks', 'heal', 'network.json'), 'utf8')).holder.pid as number;
    const shared = holders().userns;
    const dead = recordOf();
    process.kill(dead, 'SIGKILL');
    process.kill(shared, 'SIGKILL'); // the shared one too: the other networks' holders keep its namespace
    ok(['pod', 'create', '--name', 'h1', '--network', 'heal']);
    ok(['pod', 'create', '--name', 'h2', '--network', 'heal', '--network-alias', 'h2alias']);
    httpd('h2');
    expect(recordOf()).not.toBe(dead);
    expect(alive(holders().userns)).toBe(true);
    expect(fetchFrom('h1', 'http://h2alias/hello.txt')).toBe('hello from the image\n');
    // The older networks still work, and pods made now join them too.
    expect(fetchFrom('b', 'http://web/hello.txt')).toBe('hello from the image\n');
    ok(['network', 'connect', 'front', 'h1']);
    expect(fetchFrom('h1', 'http://web/hello.txt')).toBe('hello from the image\n');
    ok(['network', 'rm', '-f', 'heal']);
    expect(nsbox(root, ['pod', 'exists', 'h1']).code).toBe(1);
  });

  it('rm -f removes the pods on the network; the holders go with the last network', async () => {
    const h = holders();
    ok(['network', 'create', 'extra']);
    const extra = holders().networks[2]!;
    ok(['network', 'rm', 'extra']);
    expect(alive(extra)).toBe(false);
    expect(alive(h.userns)).toBe(true); // others are left
    ok(['network', 'rm', '-f', 'back']);
    expect(nsbox(root, ['pod', 'exists', 'c']).code).toBe(1);
    expect(nsbox(root, ['pod', 'exists', 'd']).code).toBe(1);
    const podsLeft = (JSON.parse(ok(['pod', 'ls', '--format', 'json'])) as { name: string }[]).map((p) => p.name);
    if (podsLeft.length) ok(['pod', 'rm', '-f', ...podsLeft]);
    ok(['network', 'rm', 'front']);
    expect(JSON.parse(ok(['network', 'ls', '--format', 'json']))).toEqual([]);
    for (const pid of [h.userns, ...h.networks]) expect(alive(pid), `holder ${pid}`).toBe(false);
    expect(await leftoverProcesses(root)).toEqual([]);
    // A new network after all that starts a new shared holder.
    ok(['network', 'create', 'front']);
    expect(holders().userns).not.toBe(h.userns);
    ok(['network', 'rm', 'front']);
  });
});
