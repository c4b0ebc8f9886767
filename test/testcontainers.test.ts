// testcontainers-node (11.14, the newest on Node 20), unchanged, on
// `nsbox system service`: only its own API, pointed at the service with
// DOCKER_HOST, Ryuk off through its documented variable, and its
// configuration kept out of ~/.testcontainers (a private HOME). The images
// are the test's busybox rootfs, imported into the service's store.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox } from './helpers/nsbox.js';
import { makeDocker, startService, type DockerService } from './helpers/docker-service.js';

let root: string;
let service: DockerService;
let docker: ReturnType<typeof makeDocker>;
let tc: typeof import('testcontainers');

const HTTPD = ['httpd', '-f', '-p', '80', '-h', '/srv'];

beforeAll(async () => {
  root = setUpPodRoot();
  service = await startService(root);
  docker = makeDocker(service.socket, root);
  const home = mkdtempSync(join(root, 'home-'));
  // Read once, at testcontainers' first call: the service, no reaper, and nothing from the user's own files.
  Object.assign(process.env, { DOCKER_HOST: `unix://${service.socket}`, TESTCONTAINERS_RYUK_DISABLED: 'true', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1', HOME: home, DOCKER_CONFIG: join(home, '.docker') });
  tc = await import('testcontainers');
}, 60_000);

const pods = () => (JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string }[]).map((p) => p.name);

// What a test leaves is removed, and counted against it.
afterEach(() => {
  const left = docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
  if (left.length) docker(['rm', '-f', ...left]);
  expect(left, 'containers left behind').toEqual([]);
  expect(pods(), 'pods left behind').toEqual([]);
});

afterAll(async () => {
  await service?.stop();
  tearDownPodRoot(root);
});

const get = async (url: string) => {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
};

describe(`testcontainers on nsbox system service (${testMode})`, () => {
  it('GenericContainer with withExposedPorts: getMappedPort reaches it, after the default wait (forListeningPorts)', async () => {
    const c = await new tc.GenericContainer('busybox').withCommand(HTTPD).withExposedPorts(80).withWaitStrategy(tc.Wait.forListeningPorts()).start();
    const port = c.getMappedPort(80);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(80);
    expect(await get(`http://${c.getHost()}:${port}/hello.txt`)).toEqual({ status: 200, body: 'hello from the image\n' });
    // The same container, as nsbox sees it: one pod of its own, running.
    expect(pods()).toHaveLength(1);
    await c.stop();
    expect(pods()).toEqual([]);
    await c.stop(); // idempotent
  });

  it('forHttp waits for the status code, forLogMessage for the line', async () => {
    const http = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'sleep 1; exec httpd -f -p 80 -h /srv']).withExposedPorts(80).withWaitStrategy(tc.Wait.forHttp('/hello.txt', 80).forStatusCode(200)).start();
    // It was ready when start returned: the file is served at once.
    expect(await get(`http://127.0.0.1:${http.getMappedPort(80)}/hello.txt`)).toEqual({ status: 200, body: 'hello from the image\n' });
    expect((await get(`http://127.0.0.1:${http.getMappedPort(80)}/missing`)).status).toBe(404);
    await http.stop();
    const t0 = Date.now();
    const log = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'echo booting; sleep 1; echo ready to serve; exec sleep 1000']).withWaitStrategy(tc.Wait.forLogMessage(/ready to serve/)).start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900); // it did wait for the line after the sleep
    await log.stop();
  });

  it('forHealthCheck waits for the health check the service runs; an unhealthy one fails the start', async () => {
    const ok = await new tc.GenericContainer('busybox')
      .withCommand(['sh', '-c', 'sleep 1; touch /tmp/up; exec sleep 1000'])
      .withHealthCheck({ test: ['CMD-SHELL', 'test -f /tmp/up'], interval: 300, timeout: 2000, retries: 20 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .start();
    expect(docker(['inspect', '-f', '{{.State.Health.Status}}', ok.getId()]).stdout.trim()).toBe('healthy');
    await ok.stop();
    // Control: a check that always fails makes the start fail (the wait reads the state, it does not assume it).
    const bad = new tc.GenericContainer('busybox')
      .withCommand(['sleep', '1000'])
      .withHealthCheck({ test: ['CMD', 'false'], interval: 200, timeout: 1000, retries: 2 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(15_000)
      .start();
    await expect(bad).rejects.toThrow(/unhealthy/i);
  });

  it('forSuccessfulCommand waits until the command succeeds in the container', async () => {
    const t0 = Date.now();
    const c = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'sleep 1; touch /tmp/ready; exec sleep 1000']).withWaitStrategy(tc.Wait.forSuccessfulCommand('test -f /tmp/ready')).start();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect((await c.exec(['test', '-f', '/tmp/ready'])).exitCode).toBe(0);
    await c.stop();
  });

  it('exec keeps stdout, stderr and the exit code apart; logs streams the output', async () => {
    const c = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'echo first line; echo to stderr >&2; echo second line; exec sleep 1000']).withWaitStrategy(tc.Wait.forLogMessage('second line')).start();
    const r = await c.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.exitCode).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    const env = await c.exec(['sh', '-c', 'echo "$X"'], { env: { X: 'from exec' } });
    expect(env.output).toBe('from exec\n');
    const stream = await c.logs();
    const seen: string[] = [];
    await new Promise<void>((done) => {
      stream.on('data', (line: string) => {
        seen.push(line);
        if (seen.join('').includes('second line')) done();
      });
    });
    stream.destroy();
    expect(seen.join('')).toContain('first line\n');
    expect(seen.join('')).toContain('to stderr\n');
    await c.stop();
  });

  it('copyFilesToContainer and copyContentToContainer before start, copies into a running one, copyArchiveFromContainer out', async () => {
    const src = join(root, 'to-copy.txt');
    writeFileSync(src, 'copied from the host\n');
    const c = await new tc.GenericContainer('busybox')
      .withCommand(HTTPD)
      .withExposedPorts(80)
      .withCopyFilesToContainer([{ source: src, target: '/srv/copied.txt' }])
      .withCopyContentToContainer([{ content: 'inline content\n', target: '/srv/sub/inline.txt', mode: 0o640 }])
      .start();
    const base = `http://127.0.0.1:${c.getMappedPort(80)}`;
    expect(await get(`${base}/copied.txt`)).toEqual({ status: 200, body: 'copied from the host\n' });
    expect((await c.exec(['cat', '/srv/sub/inline.txt'])).stdout).toBe('inline content\n');
    expect((await c.exec(['stat', '-c', '%a', '/srv/sub/inline.txt'])).stdout.trim()).toBe('640');
    // Into the running container, then out again as a tar.
    writeFileSync(src, 'a second copy\n');
    await c.copyFilesToContainer([{ source: src, target: '/tmp/later.txt' }]);
    expect((await c.exec(['cat', '/tmp/later.txt'])).stdout).toBe('a second copy\n');
    const tar = await c.copyArchiveFromContainer('/tmp/later.txt');
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 9).toString()).toBe('later.txt');
    expect(bytes.subarray(512, 512 + 14).toString()).toBe('a second copy\n');
    await c.stop();
  });

  it('withBindMounts: a host directory, read-only when asked', async () => {
    const dir = join(root, 'bind');
    mkdirSync(dir);
    writeFileSync(join(dir, 'in.txt'), 'on the host\n');
    const c = await new tc.GenericContainer('busybox')
      .withCommand(['sleep', '1000'])
      .withBindMounts([
        { source: dir, target: '/data' },
        { source: dir, target: '/ro', mode: 'ro' },
      ])
      .start();
    expect((await c.exec(['cat', '/data/in.txt'])).stdout).toBe('on the host\n');
    expect((await c.exec(['sh', '-c', 'echo from the container > /data/out.txt'])).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('from the container\n');
    const ro = await c.exec(['sh', '-c', 'echo no > /ro/denied.txt']);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    await c.stop();
  });

  it('restart runs it again on the same mapped port; stop removes it and its pod', async () => {
    const c = await new tc.GenericContainer('busybox').withCommand(['sh', '-c', 'echo started; exec httpd -f -p 80 -h /srv']).withExposedPorts(80).withWaitStrategy(tc.Wait.forHttp('/hello.txt', 80)).start();
    const before = docker(['inspect', '-f', '{{.State.StartedAt}}', c.getId()]).stdout.trim();
    await c.restart();
    const after = docker(['inspect', '-f', '{{.State.StartedAt}} {{.State.Status}}', c.getId()]).stdout.trim();
    expect(after.endsWith(' running')).toBe(true);
    expect(after.split(' ')[0]).not.toBe(before); // a new run
    expect(await get(`http://127.0.0.1:${c.getMappedPort(80)}/hello.txt`)).toEqual({ status: 200, body: 'hello from the image\n' });
    const stopped = await c.stop();
    expect(stopped.getId()).toBe(c.getId());
    expect(docker(['ps', '-aq']).stdout).toBe('');
    expect(pods()).toEqual([]);
  });

  it('the builder\'s other options reach the container: environment, labels, user, working dir, entrypoint, tmpfs, reuse', async () => {
    const c = await new tc.GenericContainer('busybox')
      .withEntrypoint(['sh', '-c'])
      // The container reads its own mounts: in rootless mode an exec as a non-root user (setresuid in a
      // CLONE_VM child) leaves the service non-dumpable, so a network holder made after it fails writing
      // uid_map (EACCES). That is a shim bug, reported, and left for its own fix.
      .withCommand(['echo "$GREETING"; id -u; pwd; grep " /scratch " /proc/mounts | cut -d" " -f3; exec sleep 1000'])
      .withEnvironment({ GREETING: 'hi from env' })
      .withLabels({ team: 'nsbox' })
      .withUser('33:33')
      .withWorkingDir('/tmp')
      .withTmpFs({ '/scratch': 'rw,size=1m' })
      .withWaitStrategy(tc.Wait.forLogMessage('tmpfs'))
      .start();
    const logs = docker(['logs', c.getId()]).stdout;
    expect(logs).toBe('hi from env\n33\n/tmp\ntmpfs\n');
    expect(c.getLabels().team).toBe('nsbox');
    await c.stop();
    // withReuse: a second start with the same configuration finds the running one.
    const first = await new tc.GenericContainer('busybox').withCommand(['sleep', '1001']).withReuse().start();
    const second = await new tc.GenericContainer('busybox').withCommand(['sleep', '1001']).withReuse().start();
    expect(second.getId()).toBe(first.getId());
    await first.stop();
  });

  it('what a rootless pod cannot give is refused loudly, not faked: privileged mode; extra hosts reach /etc/hosts', async () => {
    await expect(new tc.GenericContainer('busybox').withCommand(['true']).withPrivilegedMode().start()).rejects.toThrow(/Privileged is refused/);
    const c = await new tc.GenericContainer('busybox').withCommand(['sleep', '1000']).withExtraHosts([{ host: 'db', ipAddress: '10.0.0.9' }]).start();
    const hosts = await c.exec(['cat', '/etc/hosts']);
    expect(hosts.output).toMatch(/^10\.0\.0\.9\tdb$/m);
    await c.stop();
  });

  it('Network with aliases: one container reaches another by its alias; a container off the network cannot', async () => {
    const network = await new tc.Network().start();
    const server = await new tc.GenericContainer('busybox').withNetwork(network).withNetworkAliases('web', 'www').withCommand(HTTPD).withWaitStrategy(tc.Wait.forSuccessfulCommand('wget -qO- http://127.0.0.1/hello.txt')).start();
    const client = await new tc.GenericContainer('busybox').withNetwork(network).withCommand(['sleep', '1000']).start();
    const outsider = await new tc.GenericContainer('busybox').withCommand(['sleep', '1000']).start();
    for (const host of ['web', 'www']) {
      const r = await client.exec(['timeout', '3', 'wget', '-qO-', `http://${host}/hello.txt`]);
      expect(r.output, host).toBe('hello from the image\n');
    }
    expect(server.getNetworkNames()).toEqual([network.getName()]);
    expect(server.getIpAddress(network.getName())).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // Control: the same request from a container on the default network fails.
    expect((await outsider.exec(['timeout', '3', 'wget', '-qO-', 'http://web/hello.txt'])).exitCode).not.toBe(0);
    await Promise.all([server.stop(), client.stop(), outsider.stop()]);
    await network.stop();
    expect(docker(['network', 'ls', '--format', '{{.Name}}']).stdout.split('\n')).not.toContain(network.getName());
  });
});
