// `pod start` and `pod restart`, podman's: a stopped pod starts again as it
// was made (same id, a new pause, the same published port, its user network
// and alias, every container run again with its log kept); `pod restart`
// restarts the containers and keeps the pause. Bad input leaves the stopped
// pod exactly as it was.
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { isOneLineRefusal } from './helpers/cli-process.js';
import { leftoverProcesses } from './helpers/leftovers.js';
import { fetchWhenUp } from './helpers/net.js';
import { nsbox, nsboxOk, removeAllPods } from './helpers/nsbox.js';

let root: string;

beforeAll(() => {
  root = setUpPodRoot();
});

afterAll(() => {
  removeAllPods(root);
  nsbox(root, ['network', 'rm', '-f', 'startnet']);
  tearDownPodRoot(root);
});

const ok = (args: string[]) => nsboxOk(root, args);
const podOf = (name: string) => JSON.parse(ok(['pod', 'inspect', name])) as { Id: string; State: string; record: { pause: { pid: number } } };
const states = (pod: string) =>
  (JSON.parse(ok(['ps', '-a', '--format', 'json'])) as { Names: string[]; State: string; PodName: string }[])
    .filter((c) => c.PodName === pod)
    .map((c) => `${pod}/${c.Names[0]} ${c.State}`)
    .sort();
const hostPort = (pod: string) => ok(['port', pod]).trim().split(' -> ')[1]!;

describe(`pod start and pod restart (${testMode})`, () => {
  it('a stopped pod starts again: same id and port, a new pause, its containers running, their logs kept', async () => {
    ok(['pod', 'create', '--name', 'P', '-p', '127.0.0.1:0:80']);
    ok(['run', '-d', '--pod', 'P', '--name', 'web', 'busybox', 'sh', '-c', 'echo "boot $$"; exec httpd -f -p 80 -h /srv']);
    ok(['run', '-d', '--pod', 'P', '--name', 'idle', 'busybox', 'sleep', '1000']);
    const before = podOf('P');
    const port = hostPort('P');
    expect(await fetchWhenUp(`http://${port}/hello.txt`)).toBe('hello from the image\n');
    ok(['pod', 'stop', '-t', '1', 'P']);
    expect(states('P')).toEqual(['P/idle exited', 'P/web exited']);
    expect(ok(['pod', 'start', 'P']).trim()).toBe(before.Id);
    const after = podOf('P');
    expect(after.State).toMatch(/running/i);
    expect(after.record.pause.pid).not.toBe(before.record.pause.pid);
    expect(hostPort('P')).toBe(port); // the port first chosen free is asked for again
    expect(states('P')).toEqual(['P/idle running', 'P/web running']);
    expect(await fetchWhenUp(`http://${port}/hello.txt`)).toBe('hello from the image\n');
    expect(ok(['logs', 'P/web']).match(/^boot \d+$/gm)).toHaveLength(2);
    // Starting a running pod changes nothing.
    expect(ok(['pod', 'start', 'P']).trim()).toBe(before.Id);
    expect(podOf('P').record.pause.pid).toBe(after.record.pause.pid);
  });

  it('pod restart restarts the containers and keeps the pause; a stopped pod is started', async () => {
    const pause = podOf('P').record.pause.pid;
    ok(['pod', 'restart', '-t', '1', 'P']);
    expect(podOf('P').record.pause.pid).toBe(pause);
    expect(states('P')).toEqual(['P/idle running', 'P/web running']);
    expect(ok(['logs', 'P/web']).match(/^boot \d+$/gm)).toHaveLength(3);
    ok(['pod', 'stop', '-t', '0', 'P']);
    ok(['pod', 'restart', 'P']);
    expect(states('P')).toEqual(['P/idle running', 'P/web running']);
    expect(await fetchWhenUp(`http://${hostPort('P')}/hello.txt`)).toBe('hello from the image\n');
    ok(['pod', 'rm', '-f', 'P']);
  });

  it('a pod on a user network rejoins it with its alias: a neighbour reaches it by name again', () => {
    ok(['network', 'create', 'startnet']);
    ok(['pod', 'create', '--name', 'srv', '--network', 'startnet', '--network-alias', 'backend']);
    ok(['run', '-d', '--pod', 'srv', '--name', 'httpd', 'busybox', 'httpd', '-f', '-p', '8000', '-h', '/srv']);
    ok(['pod', 'create', '--name', 'cli', '--network', 'startnet']);
    // From a container of the neighbour pod: its /etc/hosts names the network's members.
    const fetch = () => nsbox(root, ['run', '--rm', '--pod', 'cli', 'busybox', 'sh', '-c', 'timeout 3 wget -qO- http://backend:8000/hello.txt; echo "rc=$?"']).stdout;
    // httpd listens a moment after `run -d` returns: a few tries.
    const fetchOnceUp = () => {
      let out = '';
      for (let i = 0; i < 20 && !out.endsWith('rc=0\n'); i++) out = fetch();
      return out;
    };
    expect(fetchOnceUp()).toBe('hello from the image\nrc=0\n');
    ok(['pod', 'stop', '-t', '0', 'srv']);
    expect(fetch()).toMatch(/rc=[1-9]/); // control: stopped, it answers nobody
    ok(['pod', 'start', 'srv']);
    expect(fetchOnceUp()).toBe('hello from the image\nrc=0\n');
    ok(['pod', 'rm', '-f', 'srv', 'cli']);
    ok(['network', 'rm', 'startnet']);
  });

  it('bad input is one line, exit 125; a start that cannot bind its port leaves the stopped pod as it was', async () => {
    const missing = nsbox(root, ['pod', 'start', 'nosuch']);
    expect(isOneLineRefusal(missing), missing.stderr).toBe(true);
    expect(missing.stderr).toMatch(/no such pod: nosuch/);
    ok(['pod', 'create', '--name', 'Q', '-p', '127.0.0.1:0:80']);
    ok(['run', '-d', '--pod', 'Q', '--name', 'web', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']);
    const port = Number(hostPort('Q').split(':')[1]);
    ok(['pod', 'stop', '-t', '0', 'Q']);
    const squatter: Server = createServer();
    await new Promise<void>((ok_) => squatter.listen(port, '127.0.0.1', ok_));
    try {
      const r = nsbox(root, ['pod', 'start', 'Q']);
      expect(isOneLineRefusal(r), r.stderr).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`${port}`));
      expect(podOf('Q').State).toMatch(/exited/i);
      expect(states('Q')).toEqual(['Q/web exited']);
      expect(await leftoverProcesses(root)).toEqual([]);
    } finally {
      await new Promise((ok_) => squatter.close(ok_));
    }
    // Control: with the port free again, the same pod starts.
    ok(['pod', 'start', 'Q']);
    expect(states('Q')).toEqual(['Q/web running']);
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    ok(['pod', 'rm', '-f', 'Q']);
  });
});
