// Ports published on a running detached pod (Pod.publish; the Docker API's
// -p of a container that joins another's pod): the pod's keeper binds each
// port and runs a forwarder of its own for them, restarted if it dies; the
// ports the pod was made with keep serving, containers still start (the
// keeper's fd slots did not move), `pod start` brings every port back, and a
// refusal changes nothing.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPod, getPod } from '../dist/index.js';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { fetchWhenUp, freePort, portRefused } from './helpers/net.js';
import { nsboxOk, removeAllPods, waitFor } from './helpers/nsbox.js';
import { childrenByExe, podFacts, running } from './helpers/processes.js';

let root: string;

beforeAll(() => {
  root = setUpPodRoot();
});

afterAll(() => {
  removeAllPods(root);
  tearDownPodRoot(root);
});

const ok = (args: string[]) => nsboxOk(root, args);
const httpd = (pod: string, name: string, port: number) => ok(['run', '-d', '--pod', pod, '--name', name, 'busybox', 'httpd', '-f', '-p', String(port), '-h', '/srv']);
const hello = 'hello from the image\n';

describe(`ports published on a running pod (${testMode})`, () => {
  it('a published port serves beside the ones the pod was made with; containers still start; its forwarder is restarted; pod start keeps it; rm -f closes it', async () => {
    const first = await freePort();
    ok(['pod', 'create', '--name', 'pub', '-p', `127.0.0.1:${first}:80`]);
    httpd('pub', 'web80', 80);
    httpd('pub', 'web81', 81);
    expect(await fetchWhenUp(`http://127.0.0.1:${first}/hello.txt`)).toBe(hello);
    const pod = getPod('pub', { root });
    const asked = await freePort();
    const bound = await pod.publish([`127.0.0.1:${asked}:81`, '127.0.0.1::80']);
    expect(bound.map((m) => `${m.hostIp}:${m.hostPort === asked ? 'ASKED' : m.hostPort > 0 ? 'FREE' : m.hostPort}->${m.podPort}/${m.protocol}`)).toEqual(['127.0.0.1:ASKED->81/tcp', '127.0.0.1:FREE->80/tcp']);
    const free = bound[1]!.hostPort;
    expect(await fetchWhenUp(`http://127.0.0.1:${asked}/hello.txt`)).toBe(hello);
    expect(await fetchWhenUp(`http://127.0.0.1:${free}/hello.txt`)).toBe(hello);
    expect(await fetchWhenUp(`http://127.0.0.1:${first}/hello.txt`)).toBe(hello); // the pod's own port is untouched
    expect(ok(['port', 'pub']).trim().split('\n')).toEqual([`80/tcp -> 127.0.0.1:${first}`, `81/tcp -> 127.0.0.1:${asked}`, `80/tcp -> 127.0.0.1:${free}`]);
    // A container started after the publish: its plan names the keeper's fds as before.
    httpd('pub', 'web82', 82);
    expect(ok(['exec', '--join', 'web82', 'pub', '--', 'wget', '-qO-', 'http://127.0.0.1:82/hello.txt'])).toBe(hello);
    // The new forwarder dies: the keeper starts it again, and the port serves again.
    const { supervisorPid } = podFacts(root, 'pub');
    const forwarders = () => childrenByExe(supervisorPid, '/nsbox-forward');
    expect(forwarders()).toHaveLength(2);
    const victim = forwarders().find((pid) => readArgs(pid).includes(':81:tcp'))!;
    expect(victim).toBeGreaterThan(0);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => !running(victim) && forwarders().length === 2, 5000, 'the forwarder to be started again');
    expect(await fetchWhenUp(`http://127.0.0.1:${asked}/hello.txt`)).toBe(hello);
    // Stopped and started again, the pod publishes every port it had.
    ok(['pod', 'stop', '-t', '1', 'pub']);
    expect(await portRefused(asked)).toBe(true);
    ok(['pod', 'start', 'pub']);
    expect(ok(['port', 'pub']).trim().split('\n')).toEqual([`80/tcp -> 127.0.0.1:${first}`, `81/tcp -> 127.0.0.1:${asked}`, `80/tcp -> 127.0.0.1:${free}`]);
    for (const port of [first, asked, free]) expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`), String(port)).toBe(hello);
    httpd('pub', 'web83', 83); // the started pod's keeper has every port as its own: the slots moved with them
    expect(ok(['exec', '--join', 'web83', 'pub', '--', 'wget', '-qO-', 'http://127.0.0.1:83/hello.txt'])).toBe(hello);
    ok(['pod', 'rm', '-f', 'pub']);
    for (const port of [first, asked, free]) expect(await portRefused(port), String(port)).toBe(true);
  });

  it('a port in use is refused in one line, and the pod publishes what it did before', async () => {
    ok(['pod', 'create', '--name', 'clash']);
    const taken = await freePort();
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(taken, '127.0.0.1', done));
    try {
      const pod = getPod('clash', { root });
      const other = await freePort();
      // The second port is taken: the first one of the same request is not kept either.
      await expect(pod.publish([`127.0.0.1:${other}:80`, `127.0.0.1:${taken}:81`])).rejects.toThrow(new RegExp(`^cannot publish 127\\.0\\.0\\.1:${taken}->81/tcp: address already in use \\(127\\.0\\.0\\.1:${taken}/tcp\\)$`));
      expect(ok(['port', 'clash'])).toBe('');
      expect(await portRefused(other)).toBe(true);
      // Control: the same request once the port is free.
      blocker.close();
      await new Promise((done) => setTimeout(done, 50));
      expect((await pod.publish([`127.0.0.1:${other}:80`, `127.0.0.1:${taken}:81`])).map((m) => m.hostPort)).toEqual([other, taken]);
      expect(ok(['port', 'clash']).trim().split('\n')).toHaveLength(2);
    } finally {
      blocker.close();
      ok(['pod', 'rm', '-f', 'clash']);
    }
  });

  it('a library pod (no keeper) refuses, saying why', async () => {
    const pod = await createPod({ root, name: 'local' });
    try {
      await expect(pod.publish(['127.0.0.1::80'])).rejects.toThrow(/^cannot publish ports on the running pod local: it is run by the process that made it/);
      expect(pod.record.ports ?? []).toEqual([]);
    } finally {
      await pod.remove({ force: true });
    }
  });
});

function readArgs(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}
