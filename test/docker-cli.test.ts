// The real docker CLI (Debian's docker.io 20.10 client) drives rootless
// nsbox pods through `nsbox system service`, on the same state the nsbox CLI
// uses: version, info, images, run (-d, --rm, -p, -v, -e, -l, foreground
// with the exit code), exec, logs, ps with filters, inspect, port, stop,
// kill, restart, rm -f, run -i and -it (under a real pty), volumes, login/push/pull
// against a real docker-registry, cp, events, stats, and the seed's pause-pod commands.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cliPath, testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { fetchWhenUp, freePort, portRefused } from './helpers/net.js';
import { nsbox, waitFor } from './helpers/nsbox.js';
import { makeDocker, startService, type DockerService } from './helpers/docker-service.js';
import { onTerminal, shq } from './helpers/pty.js';
import { startRegistry } from './helpers/registry.js';
import { makeBusyboxTarball } from './helpers/busybox.js';
import { skopeo } from './helpers/oci-images.js';
import bcrypt from 'bcryptjs';

let root: string;
let service: DockerService;
let docker: ReturnType<typeof makeDocker>;

beforeAll(async () => {
  root = setUpPodRoot();
  service = await startService(root);
  docker = makeDocker(service.socket, root);
}, 60_000);

// A failed test leaves nothing for the next one to trip on.
afterEach(() => {
  const left = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) docker(['rm', '-f', ...left]);
});

afterAll(async () => {
  await service?.stop();
  tearDownPodRoot(root);
});

const ok = (r: { code: number | null; stderr: string }) => expect(r.code, r.stderr).toBe(0);
const readdirSafe = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};
const names = (all = true) => docker(['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}']).stdout.split('\n').filter(Boolean).sort();
const nsboxPods = () => (JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string }[]).map((p) => p.name).sort();

describe(`the docker CLI on nsbox (${testMode})`, () => {
  it('version and info: API 1.41 from a 0600 socket, and a client pinning a newer API is answered', () => {
    expect(statSync(service.socket).mode & 0o777).toBe(0o600);
    const v = docker(['version', '--format', '{{.Server.APIVersion}} {{.Client.APIVersion}}']);
    ok(v);
    expect(v.stdout.trim()).toBe('1.41 1.41');
    const pinned = docker(['version', '--format', '{{.Server.APIVersion}}'], { env: { DOCKER_API_VERSION: '1.43' } });
    ok(pinned);
    expect(pinned.stdout.trim()).toBe('1.41');
    const info = docker(['info', '--format', '{{.Images}} {{.OSType}} {{.Driver}}']);
    ok(info);
    expect(info.stdout.trim()).toBe('1 linux overlay');
  });

  it('images: lists, inspects, tags and removes the store\'s images', () => {
    expect(docker(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout.trim()).toBe('busybox:latest');
    const id = JSON.parse(nsbox(root, ['image', 'inspect', 'busybox']).stdout).Id as string;
    expect(docker(['image', 'inspect', '-f', '{{.Id}}', 'busybox']).stdout.trim()).toBe(`sha256:${id}`);
    ok(docker(['tag', 'busybox', 'mybox:1']));
    expect(docker(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout.split('\n').filter(Boolean).sort()).toEqual(['busybox:latest', 'mybox:1']);
    ok(docker(['rmi', 'mybox:1']));
    expect(docker(['images', '--format', '{{.Repository}}:{{.Tag}}']).stdout.trim()).toBe('busybox:latest');
    const missing = docker(['image', 'inspect', 'nosuch:1']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such image/);
  });

  it('run -d with -p, -e and -l; ps filters; exec; logs; port; inspect; stop; rm', async () => {
    const port = await freePort();
    const run = docker(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, '-e', 'GREETING=hi there', '-l', 'app=web', 'busybox', 'sh', '-c', 'echo started; echo warn >&2; exec httpd -f -p 80 -h /srv']);
    ok(run);
    const id = run.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    expect(docker(['ps', '--filter', 'label=app=web', '--format', '{{.ID}} {{.Names}}']).stdout.trim()).toBe(`${id.slice(0, 12)} web`);
    expect(docker(['ps', '--filter', 'label=app=other', '-q']).stdout).toBe(''); // the filter can exclude (control for the one above)
    expect(docker(['ps', '--filter', 'name=web', '--filter', 'status=running', '-q']).stdout.trim()).toBe(id.slice(0, 12));
    expect(docker(['ps', '--filter', 'status=exited', '-q']).stdout).toBe('');
    const exec = docker(['exec', 'web', 'sh', '-c', 'echo "$GREETING"; ps -o pid,args | awk \'$1 == 1 { print $2 }\'']);
    ok(exec);
    expect(exec.stdout).toBe('hi there\n/pause\n');
    expect(docker(['exec', 'web', 'sh', '-c', 'exit 3']).code).toBe(3);
    expect(docker(['exec', 'web', 'no-such-program']).code).toBe(127);
    await waitFor(() => docker(['logs', 'web']).stdout === 'started\n', 5000, 'the log');
    const logs = docker(['logs', 'web']);
    expect(logs.stdout).toBe('started\n');
    expect(logs.stderr).toBe('warn\n'); // the two streams stay apart (multiplexed framing)
    expect(docker(['port', 'web']).stdout.trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    expect(docker(['inspect', '-f', '{{.State.Status}} {{.Name}} {{.Config.Image}} {{index .Config.Labels "app"}}', 'web']).stdout.trim()).toBe('running /web busybox web');
    // The same container, seen by nsbox's own CLI: one state for both.
    const seen = JSON.parse(nsbox(root, ['ps', '--format', 'json']).stdout) as { name: string; state: string }[];
    expect(seen.map((c) => `${c.name} ${c.state}`)).toEqual(['web running']);
    ok(docker(['stop', '-t', '2', 'web']));
    expect(docker(['inspect', '-f', '{{.State.Status}}', 'web']).stdout.trim()).toBe('exited');
    ok(docker(['stop', 'web'])); // stopping a stopped container succeeds, as docker's does
    expect(docker(['ps', '--filter', 'status=exited', '-q']).stdout.trim()).toBe(id.slice(0, 12));
    ok(docker(['start', 'web']));
    await waitFor(() => docker(['inspect', '-f', '{{.State.Status}}', 'web']).stdout.trim() === 'running', 5000, 'web to run again');
    ok(docker(['restart', '-t', '1', 'web']));
    expect(docker(['inspect', '-f', '{{.State.Status}}', 'web']).stdout.trim()).toBe('running');
    const refused = docker(['rm', 'web']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/running container/);
    ok(docker(['kill', '-s', 'TERM', 'web']));
    await waitFor(() => docker(['inspect', '-f', '{{.State.Status}}', 'web']).stdout.trim() === 'exited', 5000, 'web to exit on TERM');
    ok(docker(['rm', 'web']));
    expect(names()).toEqual([]);
    expect(nsboxPods()).toEqual([]);
  });

  it('foreground run: output on the right streams, the exit code, --rm leaves nothing', () => {
    const r = docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(names()).toEqual([]);
    expect(nsboxPods()).toEqual([]);
    const kept = docker(['run', '--name', 'once', 'busybox', 'hostname']);
    ok(kept);
    // docker's hostname is the short id.
    const id = docker(['inspect', '-f', '{{.Id}}', 'once']).stdout.trim();
    expect(kept.stdout.trim()).toBe(id.slice(0, 12));
    expect(docker(['ps', '-a', '--filter', 'name=once', '--format', '{{.Status}}']).stdout).toMatch(/^Exited \(0\)/);
    ok(docker(['rm', 'once']));
  });

  it('--add-host (ExtraHosts) reaches /etc/hosts, through the API and nsbox\'s own run and pod create', () => {
    const viaApi = docker(['run', '--rm', '--add-host', 'db.local:10.1.2.3', '--add-host', 'v6.local:fd00::7', 'busybox', 'cat', '/etc/hosts']);
    ok(viaApi);
    expect(viaApi.stdout).toMatch(/^10\.1\.2\.3\tdb\.local$/m);
    expect(viaApi.stdout).toMatch(/^fd00::7\tv6\.local$/m);
    expect(docker(['run', '--rm', 'busybox', 'cat', '/etc/hosts']).stdout).not.toMatch(/db\.local/); // control
    const own = nsbox(root, ['run', '--rm', '--add-host', 'cache:10.9.8.7', 'busybox', 'cat', '/etc/hosts']);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/^10\.9\.8\.7\tcache$/m);
    ok(nsbox(root, ['pod', 'create', '--name', 'hosted', '--add-host', 'api:10.0.0.2']));
    const member = nsbox(root, ['run', '--rm', '--pod', 'hosted', 'busybox', 'cat', '/etc/hosts']);
    expect(member.stdout).toMatch(/^10\.0\.0\.2\tapi$/m);
    const refused = nsbox(root, ['run', '--rm', '--pod', 'hosted', '--add-host', 'x:10.0.0.3', 'busybox', 'true']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/--add-host sets a pod's \/etc\/hosts, and pod hosted has its own/);
    ok(nsbox(root, ['pod', 'rm', '-f', 'hosted']));
  });

  it('run -i takes stdin until it ends; run -it runs on the caller\'s terminal, at its size, with the exit code', () => {
    const piped = docker(['run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo "done $$"'], { input: 'line one\nline two\n' });
    ok(piped);
    expect(piped.stdout).toMatch(/^line one\nline two\ndone \d+\n$/);
    // Control: without -i the container's stdin is empty.
    expect(docker(['run', '--rm', 'busybox', 'sh', '-c', 'cat; echo "done"'], { input: 'not passed\n' }).stdout).toBe('done\n');
    const env = Object.entries(docker.env).map(([k, v]) => `${k}=${shq(v ?? '')}`).join(' ');
    const r = onTerminal(`env ${env} ${shq(docker.client)} run -it --rm busybox sh -c 'tty; echo ready; read l; stty size; echo "got:$l"; exit 5'; echo "cli-rc=$?"`, [{ when: 'ready', type: 'typed\r' }], { size: [33, 101] });
    expect(r.output, r.output).toMatch(/\/dev\/pts\/\d+\nready\n/);
    expect(r.output, r.output).toMatch(/33 101\ngot:typed\n/);
    expect(r.output, r.output).toMatch(/cli-rc=5/);
    expect(docker(['ps', '-aq']).stdout).toBe(''); // --rm
  });

  it('-v binds a host directory: what the container writes is the user\'s on the host', () => {
    const dir = join(root, 'shared');
    mkdirSync(dir);
    writeFileSync(join(dir, 'in.txt'), 'from the host\n');
    const r = docker(['run', '--rm', '-v', `${dir}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo from the container > /data/out.txt']);
    ok(r);
    expect(r.stdout).toBe('from the host\n');
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from the container\n');
    expect(statSync(join(dir, 'out.txt')).uid).toBe(process.getuid!());
  });

  it("the seed's pause pod: containers joining with --net/--ipc/--pid=container:pause share it, see /pause as PID 1, and a member's -p is published on the pod", async () => {
    const port = await freePort();
    ok(docker(['run', '-d', '--name', 'pause', 'gcr.io/google_containers/pause-amd64:3.0']));
    const join3 = ['--net=container:pause', '--ipc=container:pause', '--pid=container:pause'];
    // As the seed does: -p on a member (docker refuses it with --net=container:; nsbox publishes it on the pod).
    ok(docker(['run', '-d', '--name', 'server', '-p', `127.0.0.1:${port}:80`, ...join3, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']));
    ok(docker(['run', '-d', '--name', 'busybox', ...join3, 'busybox', 'sleep', '1000']));
    const ps = docker(['exec', 'busybox', 'ps', 'aux']);
    ok(ps);
    const first = ps.stdout.split('\n')[1]!.trim().split(/\s+/);
    expect(first[0]).toBe('1');
    expect(first.slice(2).join(' ')).toBe('/pause');
    expect(ps.stdout).toContain('httpd -f -p 80');
    // localhost is shared: busybox reaches server's httpd on 127.0.0.1, and the member's port is published.
    const local = docker(['exec', 'busybox', 'wget', '-qO-', 'http://127.0.0.1:80/hello.txt']);
    ok(local);
    expect(local.stdout).toBe('hello from the image\n');
    expect(await fetchWhenUp(`http://127.0.0.1:${port}/hello.txt`)).toBe('hello from the image\n');
    expect(docker(['port', 'server']).stdout.trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    expect(nsbox(root, ['port', 'pause']).stdout.trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    expect(nsboxPods()).toEqual(['pause']); // one pod, as Kubernetes would have it
    // A member's -p whose host port is taken: its start is refused, with the reason, and the pod's ports stay as they were.
    const late = docker(['run', '-d', '--name', 'late', '-p', `127.0.0.1:${port}:81`, ...join3, 'busybox', 'true']);
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(new RegExp(`cannot publish 127\\.0\\.0\\.1:${port}->81/tcp: address already in use`));
    expect(nsbox(root, ['port', 'pause']).stdout.trim()).toBe(`80/tcp -> 127.0.0.1:${port}`);
    ok(docker(['rm', '-f', 'late', 'busybox', 'server', 'pause']));
    expect(names()).toEqual([]);
    expect(nsboxPods()).toEqual([]);
    expect(await portRefused(port)).toBe(true);
  });

  it("-P publishes every exposed port, the image's (EXPOSE) and --expose's, each on a free host port", async () => {
    const dir = mkdtempSync(join(root, 'expose-'));
    const tarball = await makeBusyboxTarball(dir);
    expect(nsbox(root, ['image', 'import', tarball, '--name', 'webx', '-c', 'EXPOSE 80']).code).toBe(0);
    const script = 'httpd -p 80 -h /srv; exec httpd -f -p 81 -h /srv';
    ok(docker(['run', '-d', '--name', 'pall', '-P', '--expose', '81', 'webx', 'sh', '-c', script]));
    ok(docker(['run', '-d', '--name', 'pnone', '--expose', '81', 'webx', 'sh', '-c', script])); // the control: no -P, nothing published
    const lines = docker(['port', 'pall']).stdout.trim().split('\n').sort();
    expect(lines).toHaveLength(2);
    const ports = lines.map((l) => /^(80|81)\/tcp -> 0\.0\.0\.0:(\d+)$/.exec(l));
    expect(ports.map((m) => m?.[1])).toEqual(['80', '81']);
    for (const m of ports) expect(await fetchWhenUp(`http://127.0.0.1:${m![2]}/hello.txt`), m![0]).toBe('hello from the image\n');
    expect(docker(['port', 'pnone']).stdout.trim()).toBe('');
    ok(docker(['rm', '-f', 'pall', 'pnone']));
    for (const m of ports) expect(await portRefused(Number(m![2])), m![0]).toBe(true);
    ok(docker(['rmi', 'webx']));
  });

  it('networks: containers on one reach each other by name and alias; a container off it does not; rm refused while in use', () => {
    ok(docker(['network', 'create', 'appnet']));
    expect(docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n')).toContain('appnet');
    ok(docker(['run', '-d', '--name', 'backend', '--network', 'appnet', '--network-alias', 'api', 'busybox', 'httpd', '-f', '-p', '80', '-h', '/srv']));
    ok(docker(['run', '-d', '--name', 'client', '--network', 'appnet', 'busybox', 'sleep', '1000']));
    ok(docker(['run', '-d', '--name', 'outsider', 'busybox', 'sleep', '1000']));
    for (const host of ['api', 'backend']) {
      let got = '';
      for (let i = 0; i < 20 && got !== 'hello from the image\n'; i++) got = docker(['exec', 'client', 'timeout', '3', 'wget', '-qO-', `http://${host}/hello.txt`]).stdout;
      expect(got, host).toBe('hello from the image\n');
    }
    // Control: the same request from a container on the default network fails.
    expect(docker(['exec', 'outsider', 'timeout', '3', 'wget', '-qO-', 'http://api/hello.txt']).code).not.toBe(0);
    const busy = docker(['network', 'rm', 'appnet']);
    expect(busy.code).not.toBe(0);
    expect(busy.stderr).toMatch(/active endpoints/);
    ok(docker(['rm', '-f', 'backend', 'client', 'outsider']));
    ok(docker(['network', 'rm', 'appnet']));
    expect(docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n')).not.toContain('appnet');
    const unknown = docker(['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true']);
    expect(unknown.code).toBe(125);
    expect(unknown.stderr).toMatch(/network nosuchnet not found/);
  });

  it('volumes: create with labels, ls filters, a named volume outlives its containers, rm refused while in use', () => {
    ok(docker(['volume', 'create', '--label', 'team=a', 'data1']));
    expect(docker(['volume', 'create', 'data1']).code).toBe(0); // idempotent, as docker's
    const v = JSON.parse(docker(['volume', 'inspect', 'data1']).stdout)[0];
    expect([v.Name, v.Driver, v.Labels]).toEqual(['data1', 'local', { team: 'a' }]);
    expect(JSON.parse(nsbox(root, ['volume', 'inspect', 'data1']).stdout)[0].Mountpoint).toBe(v.Mountpoint); // the same volume nsbox has
    expect(docker(['volume', 'ls', '--filter', 'label=team=a', '-q']).stdout.trim()).toBe('data1');
    expect(docker(['volume', 'ls', '--filter', 'label=team=b', '-q']).stdout).toBe(''); // control: the filter can exclude
    ok(docker(['run', '--rm', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f']));
    const again = docker(['run', '--rm', '-v', 'data1:/data', 'busybox', 'cat', '/data/f']);
    ok(again);
    expect(again.stdout).toBe('kept\n');
    ok(docker(['run', '-d', '--name', 'holder', '-v', 'data1:/data', 'busybox', 'sleep', '1000']));
    const inUse = docker(['volume', 'rm', 'data1']);
    expect(inUse.code).not.toBe(0);
    expect(inUse.stderr).toMatch(/volume is in use/);
    expect(docker(['volume', 'ls', '-q']).stdout.trim()).toBe('data1');
    ok(docker(['rm', '-f', 'holder']));
    ok(docker(['volume', 'rm', 'data1']));
    const gone = docker(['volume', 'inspect', 'data1']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/no such volume/i);
    ok(docker(['volume', 'rm', '-f', 'data1'])); // -f forgives a missing volume
    // -v /path: an anonymous volume, gone with --rm and with rm -v.
    ok(docker(['run', '--rm', '-v', '/anon', 'busybox', 'sh', '-c', 'echo x > /anon/f']));
    expect(docker(['volume', 'ls', '-q']).stdout).toBe('');
    ok(docker(['run', '-d', '--name', 'anon', '-v', '/anon', 'busybox', 'sleep', '1000']));
    expect(docker(['volume', 'ls', '-q']).stdout).toMatch(/^[0-9a-f]{64}\n$/); // control: it exists while its container does
    ok(docker(['rm', '-fv', 'anon']));
    expect(docker(['volume', 'ls', '-q']).stdout).toBe('');
  });

  it('registry: login checks the password, push and pull with the client\'s credentials (a real docker-registry, read back by skopeo)', async () => {
    const work = mkdtempSync(join(root, 'registry-'));
    const htpasswd = join(work, 'htpasswd');
    writeFileSync(htpasswd, `tester:${bcrypt.hashSync('s3cret', 5)}\n`);
    const registry = await startRegistry(join(work, 'reg'), { auth: { htpasswd } });
    try {
      const wrong = docker(['login', '-u', 'tester', '--password-stdin', registry.host], { input: 'wrong\n' });
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/refused|wrong|unauthorized/i);
      // Control: nothing pushes without a login.
      ok(docker(['tag', 'busybox', `${registry.host}/team/bb:v1`]));
      const anonymous = docker(['push', `${registry.host}/team/bb:v1`]);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr + anonymous.stdout).toMatch(/401|credentials|log in/i);
      ok(docker(['login', '-u', 'tester', '--password-stdin', registry.host], { input: 's3cret\n' }));
      const pushed = docker(['push', `${registry.host}/team/bb:v1`]);
      ok(pushed);
      expect(pushed.stdout).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
      const seen = JSON.parse(skopeo(['inspect', '--tls-verify=false', '--creds', 'tester:s3cret', `docker://${registry.host}/team/bb:v1`], work));
      expect(seen.Layers).toHaveLength(1);
      ok(docker(['rmi', `${registry.host}/team/bb:v1`]));
      ok(docker(['pull', `${registry.host}/team/bb:v1`]));
      const ran = docker(['run', '--rm', `${registry.host}/team/bb:v1`, 'cat', '/srv/hello.txt']);
      ok(ran);
      expect(ran.stdout).toBe('hello from the image\n');
    } finally {
      await registry.stop();
    }
  });

  it('refuses what nsbox cannot do, naming it, and leaves nothing behind', () => {
    for (const [args, why] of [
      [['--privileged'], /Privileged/],
      [['--net=host'], /NetworkMode=host/],
      [['--add-host', 'a:host-gateway'], /ExtraHosts: --add-host a:host-gateway: host-gateway is not supported/],
      [['--sysctl', 'net.ipv4.ip_forward=1'], /Sysctls/],
      [['--dns', '9.9.9.9'], /HostConfig.Dns /],
      [['--group-add', '123'], /GroupAdd/],
      [['--log-driver', 'none'], /log driver "none"/],
    ] as const) {
      const r = docker(['run', '--rm', ...args, 'busybox', 'true']);
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr).toMatch(why);
    }
    expect(names()).toEqual([]);
    expect(nsboxPods()).toEqual([]);
    const noSuch = docker(['rm', 'nosuch']);
    expect(noSuch.code).not.toBe(0);
    expect(noSuch.stderr).toMatch(/No such container: nosuch/);
    ok(docker(['create', '--name', 'dup', 'busybox', 'true']));
    const dup = docker(['create', '--name', 'dup', 'busybox', 'true']);
    expect(dup.code).not.toBe(0);
    expect(dup.stderr).toMatch(/already in use/);
    expect(docker(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).stdout.trim()).toBe('dup Created');
    ok(docker(['rm', 'dup']));
  });

  it('nsbox CLI containers show in docker ps, and the service exits when idle and removes its socket', async () => {
    ok(nsbox(root, ['pod', 'create', '--name', 'mine']));
    ok(nsbox(root, ['run', '-d', '--pod', 'mine', '--name', 'sleeper', 'busybox', 'sleep', '1000']));
    expect(names(false)).toEqual(['mine_sleeper']);
    ok(docker(['rm', '-f', 'mine_sleeper']));
    ok(nsbox(root, ['pod', 'rm', '-f', 'mine']));
    const idle = await startService(join(root, 'idle-root'), ['--time', '1']);
    const sock = idle.socket;
    expect(statSync(sock).isSocket()).toBe(true);
    // Its record says who serves where (a sweep after a killed test run ends it by pid and start time).
    const record = join(root, 'idle-root', 'services', `${idle.proc.pid}.json`);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ pid: idle.proc.pid, startTime: expect.stringMatching(/^\d+$/), socket: sock });
    await waitFor(() => idle.proc.exitCode !== null, 10_000, 'the idle service to exit');
    expect(idle.proc.exitCode).toBe(0);
    expect(() => statSync(sock)).toThrow();
    expect(() => statSync(record)).toThrow();
    // Control: the --time 0 service has been idle just as long, and still answers.
    ok(docker(['version']));
  });

  it("socket activation: started by systemd's own tool, the service serves on the socket it is given; through a wrapper process it refuses in one line", async () => {
    const activate = (sock: string, command: string[]) => {
      const proc = spawn('systemd-socket-activate', ['-l', sock, ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      return { proc, err: () => err, exited: new Promise<number | null>((done) => proc.once('exit', (code) => done(code))) };
    };
    const service = [process.execPath, cliPath, '--root', join(root, 'activated-root'), 'system', 'service', '--time', '0'];
    const sock = join(root, 'activated.sock');
    const direct = activate(sock, service);
    try {
      await waitFor(() => direct.err().includes(`Listening on ${sock}`), 10_000, 'systemd-socket-activate to listen');
      // The first connection starts the service, which takes the socket as fd 3.
      const v = makeDocker(sock, root)(['version', '--format', '{{.Server.APIVersion}}'], { timeoutMs: 20_000 });
      expect(v.code, v.stderr).toBe(0);
      expect(v.stdout.trim()).toBe('1.41');
      await waitFor(() => /nsbox: serving the Docker API on fd 3\n/.test(direct.err()), 5000, 'the service to say where it serves');
    } finally {
      direct.proc.kill('SIGTERM');
      await direct.exited;
    }
    // npx runs nsbox as its child: the socket was passed to the wrapper's pid, and the service says so.
    const wrapped = activate(join(root, 'wrapped.sock'), ['sh', '-c', `${service.map(shq).join(' ')}; exit $?`]);
    try {
      await waitFor(() => wrapped.err().includes('Listening on'), 10_000, 'systemd-socket-activate to listen');
      expect(makeDocker(join(root, 'wrapped.sock'), root)(['version'], { timeoutMs: 5000 }).code).not.toBe(0);
      expect(await Promise.race([wrapped.exited, new Promise((done) => setTimeout(() => done('still running after 10 s'), 10_000))])).toBe(125);
    } finally {
      // Had it not refused, its record names the service the wrapper started.
      for (const file of readdirSafe(join(root, 'activated-root', 'services'))) {
        try {
          process.kill((JSON.parse(readFileSync(join(root, 'activated-root', 'services', file), 'utf8')) as { pid: number }).pid, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      if (wrapped.proc.exitCode === null) wrapped.proc.kill('SIGKILL');
    }
    expect(wrapped.err()).toMatch(/^nsbox: systemd passed its socket \(LISTEN_FDS\) to process \d+, not to this one \(\d+\): the service was started through a wrapper such as npx: give ExecStart the nsbox executable itself/m);
  });

  it('cp: a file and a directory in and out of a running container, and out of a stopped one; a missing path is named', () => {
    const dir = join(root, 'cp-src');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'file a\n');
    writeFileSync(join(dir, 'sub', 'b.txt'), 'file b\n');
    ok(docker(['run', '-d', '--name', 'cpbox', 'busybox', 'sleep', '1000']));
    ok(docker(['cp', join(dir, 'a.txt'), 'cpbox:/tmp/renamed.txt']));
    ok(docker(['cp', dir, 'cpbox:/tmp/']));
    const inside = docker(['exec', 'cpbox', 'sh', '-c', 'cat /tmp/renamed.txt /tmp/cp-src/a.txt /tmp/cp-src/sub/b.txt']);
    ok(inside);
    expect(inside.stdout).toBe('file a\nfile a\nfile b\n');
    const out = join(root, 'cp-out');
    mkdirSync(out);
    ok(docker(['cp', 'cpbox:/srv/hello.txt', join(out, 'hello.txt')]));
    expect(readFileSync(join(out, 'hello.txt'), 'utf8')).toBe('hello from the image\n');
    // DIR/. copies the contents: into an existing directory, no srv/ level.
    mkdirSync(join(out, 'contents'));
    ok(docker(['cp', 'cpbox:/srv/.', join(out, 'contents')]));
    expect(readdirSync(join(out, 'contents'))).toEqual(['hello.txt']);
    ok(docker(['exec', 'cpbox', 'sh', '-c', 'echo written inside > /tmp/cp-src/sub/c.txt']));
    ok(docker(['stop', '-t', '1', 'cpbox']));
    ok(docker(['cp', 'cpbox:/tmp/cp-src', join(out, 'tree')]));
    expect(readFileSync(join(out, 'tree', 'sub', 'c.txt'), 'utf8')).toBe('written inside\n');
    expect(readFileSync(join(out, 'tree', 'a.txt'), 'utf8')).toBe('file a\n');
    const missing = docker(['cp', 'cpbox:/no/such/file', out]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/No such container:path: cpbox:\/no\/such\/file/); // docker's words for the 404
    ok(docker(['rm', 'cpbox']));
  });

  it('events: docker events --since/--until ends, with the lifecycle of a container and filters', () => {
    // To the millisecond (docker takes a fraction): a whole second back took in the previous test's containers.
    const since = (Date.now() / 1000).toFixed(3);
    expect(docker(['run', '--name', 'evbox', 'busybox', 'sh', '-c', 'exit 2']).code).toBe(2);
    ok(docker(['rm', 'evbox']));
    ok(docker(['create', '--name', 'evother', 'busybox', 'true']));
    ok(docker(['rm', 'evother']));
    const until = String(Math.ceil(Date.now() / 1000) + 1);
    const ev = docker(['events', '--since', since, '--until', until, '--filter', 'container=evbox', '--format', '{{.Action}} {{.Actor.Attributes.name}}'], { timeoutMs: 15_000 });
    ok(ev);
    // docker run attaches and waits too; the lifecycle is what this service reports.
    expect(ev.stdout.split('\n').filter(Boolean)).toEqual(['create evbox', 'start evbox', 'die evbox', 'destroy evbox']);
    // Control: without the filter the other container is there as well.
    const all = docker(['events', '--since', since, '--until', until, '--filter', 'event=create', '--format', '{{.Actor.Attributes.name}}'], { timeoutMs: 15_000 });
    ok(all);
    expect(all.stdout.split('\n').filter(Boolean)).toEqual(['evbox', 'evother']);
  });

  it('stats --no-stream: CPU, memory and pids of a running container', () => {
    ok(docker(['run', '-d', '--name', 'spin', 'busybox', 'sh', '-c', 'while :; do :; done']));
    ok(docker(['run', '-d', '--name', 'rest', 'busybox', 'sleep', '1000']));
    const s = docker(['stats', '--no-stream', '--format', '{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}', 'spin', 'rest']);
    ok(s);
    const rows = Object.fromEntries(s.stdout.trim().split('\n').map((l) => l.split(' ')).map(([n, ...rest]) => [n, rest]));
    const [cpu, mem, , , pids] = rows.spin!;
    expect(parseFloat(cpu!)).toBeGreaterThan(10); // a whole core when the machine is quiet; less on a loaded one
    expect(parseFloat(rows.rest![0]!)).toBeLessThan(3); // the control: the sleeping one uses none
    expect(mem).toMatch(/^[\d.]+(B|KiB|MiB)$/);
    expect(Number(pids)).toBe(1);
    ok(docker(['rm', '-f', 'spin', 'rest']));
  });

  it('a second service on a live socket is refused in one line; the first keeps serving', async () => {
    const second = await startService(root).catch((err: Error) => err);
    expect(second).toBeInstanceOf(Error);
    expect(String((second as Error).message)).toMatch(/exited 125: nsbox: another service listens on .*docker\.sock/);
    ok(docker(['version']));
  });
});
