// The testcontainers-shaped library against real containers: every builder
// option, every wait strategy (ready, and its timeout error with the
// container's last log lines), ports that really answer, restart, stop,
// `await using`, pods of several containers, and cleanup when the test
// process is killed.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, GenericPod, listPods, NsboxError, Wait, WaitError, getPod } from '../dist/index.js';
import { importBusybox } from './helpers/busybox.js';
import { cleanupRoot, tempRoot, testMode } from './helpers/env.js';
import { freePort, portRefused } from './helpers/net.js';
import { isGoneOrZombie, nsbox, podDirs, waitFor } from './helpers/nsbox.js';

let root: string;
beforeAll(async () => {
  root = tempRoot();
  await importBusybox(root);
});
afterAll(async () => {
  for (const p of listPods({ root })) await getPod(p.id, { root }).remove({ force: true });
  cleanupRoot(root);
});

const busybox = () => new GenericContainer('busybox').withRoot(root);
/** busybox httpd serving the image's /srv (hello.txt; no index, so / answers 404). */
const httpd = (...before: string[]) => busybox().withCommand(['sh', '-c', [...before, 'exec httpd -f -p 80 -h /srv'].join('; ')]).withExposedPorts(80);

async function get(port: number, path = '/hello.txt'): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
}

/** The error a start fails with (it must fail). */
async function startFailure(b: GenericContainer): Promise<WaitError> {
  const err = await b.start().then(
    (c) => c.stop().then(() => new Error('it started')),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WaitError);
  return err as WaitError;
}

const podNames = () => listPods({ root }).map((p) => p.name);

describe(`GenericContainer (${testMode})`, () => {
  it('applies every builder option: name, command, entrypoint, environment, labels, user, working directory, hostname', async () => {
    const c = await busybox()
      .withName('opts')
      .withEntrypoint(['sh', '-c'])
      .withCommand(['echo started as $(id -u):$(id -g) in $(pwd); exec sleep 1000'])
      .withEnvironment({ GREETING: 'hi', OTHER: 'x' })
      .withLabels({ team: 'nsbox', tier: 'test' })
      .withUser('www-data')
      .withWorkingDir('/srv')
      .withHostname('opts-host')
      .withWaitStrategy(Wait.forLogMessage('started'))
      .start();
    try {
      expect(c.getName()).toBe('opts');
      expect(c.getId()).toMatch(/^[0-9a-f]{64}$/);
      expect(c.getLabels()).toEqual({ team: 'nsbox', tier: 'test' });
      expect(c.getHostname()).toBe('opts-host');
      expect(c.logsSnapshot().stdout).toBe('started as 33:33 in /srv\n');
      const r = await c.exec(['sh', '-c', 'echo "$GREETING $OTHER $(hostname)"; cat hello.txt']);
      expect(r).toMatchObject({ exitCode: 0, stdout: 'hi x opts-host\nhello from the image\n' });
      // The string form splits on spaces (testcontainers' rule), without a shell.
      expect((await c.exec('echo one two')).stdout).toBe('one two\n');
      expect((await c.exec(['sh', '-c', 'exit 5'])).exitCode).toBe(5);
      // The CLI sees it as the container of a pod of its own, named after it.
      const [inspect] = JSON.parse(nsbox(root, ['inspect', 'opts']).stdout);
      expect(inspect).toMatchObject({ Name: 'opts', Id: c.getId(), Config: { User: '33:33', WorkingDir: '/srv', Labels: { team: 'nsbox', tier: 'test' } } });
    } finally {
      await c.stop();
    }
  });

  it('binds host paths read-write and read-only, mounts tmpfs, and copies files and content (the originals untouched)', async () => {
    const dir = join(root, 'share');
    const ro = join(root, 'share-ro');
    mkdirSync(dir);
    mkdirSync(ro);
    writeFileSync(join(ro, 'conf'), 'read only\n');
    const source = join(root, 'copied.txt');
    writeFileSync(source, 'original\n');
    const c = await busybox()
      .withCommand(['sleep', '1000'])
      .withBindMounts([
        { source: dir, target: '/data' },
        { source: ro, target: '/etc/app', mode: 'ro' },
      ])
      .withTmpFs({ '/scratch': 'size=1m' })
      .withCopyFilesToContainer([{ source, target: '/opt/copied.txt', mode: 0o600 }])
      .withCopyContentToContainer([{ content: 'from content\n', target: '/etc/greeting' }, { content: Buffer.from([0, 1, 2]), target: '/opt/bytes' }])
      .start();
    try {
      // rw: the container's write lands on the host, owned there by this user.
      expect((await c.exec(['sh', '-c', 'echo written > /data/out'])).exitCode).toBe(0);
      expect(readFileSync(join(dir, 'out'), 'utf8')).toBe('written\n');
      expect(statSync(join(dir, 'out')).uid).toBe(process.getuid!());
      // ro refuses the write (and rw above is the control).
      const w = await c.exec(['sh', '-c', 'echo x > /etc/app/conf']);
      expect(w.exitCode).not.toBe(0);
      expect(w.stderr).toMatch(/Read-only file system/);
      expect((await c.exec(['cat', '/etc/app/conf'])).stdout).toBe('read only\n');
      expect((await c.exec(['sh', '-c', 'grep " /scratch " /proc/mounts'])).stdout).toMatch(/^tmpfs \/scratch tmpfs .*size=1024k/);
      // Copies: content and mode as given; a change inside stays inside.
      expect((await c.exec(['sh', '-c', 'cat /opt/copied.txt; stat -c %a /opt/copied.txt; cat /etc/greeting; od -An -tx1 /opt/bytes'])).stdout).toBe('original\n600\nfrom content\n 00 01 02\n');
      expect((await c.exec(['sh', '-c', 'echo changed > /opt/copied.txt'])).exitCode).toBe(0);
      expect((await c.exec(['cat', '/opt/copied.txt'])).stdout).toBe('changed\n');
      expect(readFileSync(source, 'utf8')).toBe('original\n');
    } finally {
      await c.stop();
    }
  });

  it('refuses bad input with a hint, and leaves nothing behind', async () => {
    for (const bad of [0, 70000, '80/sctp', { container: 80, host: 0 }]) {
      const err = (() => {
        try {
          busybox().withExposedPorts(bad as never);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(NsboxError);
      expect(err).toMatchObject({ code: 'INVALID_PORT', hint: expect.stringContaining('1-65535') });
    }
    expect(() => busybox().withExposedPorts(80, '80/udp', { container: 81, host: 8081 })).not.toThrow(); // the control
    await expect(busybox().withExposedPorts(80, 80).start()).rejects.toMatchObject({ code: 'INVALID_PORT' });
    await expect(busybox().withBindMounts([{ source: 'relative', target: '/x' }]).start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(busybox().withCopyFilesToContainer([{ source: join(root, 'missing'), target: '/x' }]).start()).rejects.toMatchObject({ code: 'COPY_FAILED' });
    expect(podNames()).toEqual([]);
    expect(podDirs(root)).toEqual([]);
  });

  it('publishes exposed ports at free host ports (or the fixed one asked) that really answer', async () => {
    const fixed = await freePort();
    const c = await busybox()
      .withCommand(['sh', '-c', 'httpd -p 8080 -h /srv; exec httpd -f -p 80 -h /srv'])
      .withExposedPorts(80, { container: 8080, host: fixed })
      .start();
    try {
      expect(c.getHost()).toBe('127.0.0.1');
      expect(c.getFirstMappedPort()).toBe(c.getMappedPort(80));
      expect(c.getMappedPort('80/tcp')).toBe(c.getMappedPort(80));
      expect(c.getMappedPort(8080)).toBe(fixed);
      expect(await get(c.getMappedPort(80))).toEqual({ status: 200, body: 'hello from the image\n' });
      expect(await get(fixed)).toEqual({ status: 200, body: 'hello from the image\n' });
      expect(() => c.getMappedPort(9999)).toThrow(expect.objectContaining({ code: 'PORT_NOT_EXPOSED', hint: 'expose it with .withExposedPorts(9999)' }));
    } finally {
      await c.stop();
    }
  });

  it('restarts in the same pod at the same ports, waiting again for this start only', async () => {
    // The second start says "ready" only after a second: a wait that counted the first start's line would return at once.
    const c = await busybox()
      .withCommand(['sh', '-c', 'httpd -p 80 -h /srv; if [ -e /tmp/started ]; then sleep 1; fi; touch /tmp/started; echo ready; exec sleep 1000'])
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forLogMessage('ready'))
      .start();
    try {
      const port = c.getMappedPort(80);
      const pid = c.container.record().process!.pid;
      await c.restart();
      expect(c.logsSnapshot().stdout).toBe('ready\nready\n');
      expect(c.container.record().process!.pid).not.toBe(pid);
      expect(c.getMappedPort(80)).toBe(port);
      expect(await get(port)).toEqual({ status: 200, body: 'hello from the image\n' });
    } finally {
      await c.stop();
    }
  });

  it('stops idempotently: the container and its pod are gone, its port closed', async () => {
    const c = await httpd().withName('stopper').start();
    const port = c.getMappedPort(80);
    const podId = c.container.pod.id;
    expect(podNames()).toContain('stopper');
    const first = await c.stop();
    expect(await c.stop()).toBe(first);
    expect(first.getId()).toBe(c.getId());
    expect(first.exitCode).toBe(137); // killed at once: testcontainers' default timeout is 0
    expect(podNames()).not.toContain('stopper');
    expect(podDirs(root)).not.toContain(podId);
    expect(await portRefused(port)).toBe(true);
  });

  it('is removed at the end of an `await using` block', async () => {
    let port = 0;
    {
      await using c = await httpd().withName('scoped').start();
      port = c.getMappedPort(80);
      expect(podNames()).toContain('scoped');
      expect((await get(port)).status).toBe(200);
    }
    expect(podNames()).not.toContain('scoped');
    expect(await portRefused(port)).toBe(true);
  });

  it('copies files in and out of the started container', async () => {
    await using c = await busybox().withCommand(['sleep', '1000']).start();
    await c.copyTo(Buffer.from('copied in\n'), '/tmp/in.txt');
    expect((await c.exec(['cat', '/tmp/in.txt'])).stdout).toBe('copied in\n');
    const out = join(root, 'hello-out.txt');
    await c.copyFrom('/srv/hello.txt', out);
    expect(readFileSync(out, 'utf8')).toBe('hello from the image\n');
  });

  it('streams its logs until it exits, and gives a snapshot', async () => {
    const c = await busybox()
      .withCommand(['sh', '-c', 'echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three'])
      .withWaitStrategy(Wait.forLogMessage('one'))
      .start();
    try {
      const stream = await c.logs();
      let text = '';
      for await (const chunk of stream) text += chunk;
      expect(text).toBe('one\ntwo\nthree\n');
      expect(c.logsSnapshot()).toEqual({ stdout: 'one\nthree\n', stderr: 'two\n' });
      expect(c.logsSnapshot({ tail: 1 }).stdout).toBe('three\n');
    } finally {
      await c.stop();
    }
  });
});

describe(`the README's example (${testMode})`, () => {
  it('serves the page, as written there (with this test\'s root)', async () => {
    await using web = await new GenericContainer('busybox')
      .withRoot(root)
      .withCommand(['httpd', '-f', '-p', '80', '-h', '/srv'])
      .withCopyContentToContainer([{ content: 'hi\n', target: '/srv/index.html' }])
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forHttp('/', 80))
      .start();
    const url = `http://${web.getHost()}:${web.getMappedPort(80)}/`;
    expect(await (await fetch(url)).text()).toBe('hi\n');
  });
});

describe(`wait strategies (${testMode})`, () => {
  it('forListeningPorts (the default): returns only once the port listens inside the pod', async () => {
    await using c = await httpd('sleep 0.5').start();
    // Right after start, with no retry: the port answers.
    expect(await get(c.getMappedPort(80))).toEqual({ status: 200, body: 'hello from the image\n' });
  });

  it('forListeningPorts: times out with the port and the last log lines when nothing listens', async () => {
    const err = await startFailure(busybox().withName('deaf').withCommand(['sh', '-c', 'echo not listening; echo at all >&2; exec sleep 1000']).withExposedPorts(80).withStartupTimeout(500));
    expect(err.code).toBe('WAIT_TIMEOUT');
    expect(err.message).toMatch(/^deaf was not ready after 500 ms: listening ports: waiting for port 80 \(nothing listens on it inside the pod\)/);
    expect(err.logLines).toEqual(['not listening', 'at all']);
    expect(err.message).toContain('\n  not listening\n  at all');
    expect(err.hint).toMatch(/withStartupTimeout/);
    expect(podNames()).not.toContain('deaf');
  });

  it('forHttp: a 2xx by default, or the status and body the predicates ask for', async () => {
    await using a = await httpd('sleep 0.3').withWaitStrategy(Wait.forHttp('/hello.txt', 80)).start();
    expect((await get(a.getMappedPort(80))).status).toBe(200);
    await using b = await httpd().withWaitStrategy(Wait.forHttp('/', 80).forStatusCode(404)).start();
    expect((await get(b.getMappedPort(80), '/')).status).toBe(404);
    await using c = await httpd()
      .withWaitStrategy(Wait.forHttp('/hello.txt', 80).forStatusCodeMatching((s) => s < 300).forResponsePredicate((body) => body.includes('hello')))
      .start();
    expect((await get(c.getMappedPort(80))).body).toBe('hello from the image\n');
  });

  it('forHttp: times out when the status is not the one asked for, saying what it got', async () => {
    const err = await startFailure(httpd('echo serving').withName('http-404').withWaitStrategy(Wait.forHttp('/', 80).forStatusCode(200).withStartupTimeout(500)));
    expect(err.code).toBe('WAIT_TIMEOUT');
    expect(err.message).toMatch(/^http-404 was not ready after 500 ms: HTTP GET \/ on port 80: waiting for status 200 \(last answer: status 404\)/);
    expect(err.logLines).toEqual(['serving']);
    const matching = await startFailure(httpd().withWaitStrategy(Wait.forHttp('/', 80).forStatusCodeMatching((s) => s === 200).withStartupTimeout(300)));
    expect(matching.message).toMatch(/last answer: status 404/);
  });

  it('forHttp: times out when the body predicate refuses the answer', async () => {
    const err = await startFailure(httpd().withWaitStrategy(Wait.forHttp('/hello.txt', 80).forResponsePredicate((b) => b.includes('goodbye')).withStartupTimeout(400)));
    expect(err.message).toMatch(/waiting for a body the predicate accepts \(last answer: status 200\)/);
  });

  it('forHttp: sends the method, headers and basic credentials it is given', async () => {
    const protectedHttpd = () =>
      busybox()
        .withCommand(['httpd', '-f', '-p', '80', '-h', '/srv', '-c', '/etc/httpd.conf'])
        .withCopyContentToContainer([{ content: '/:tester:secret\n', target: '/etc/httpd.conf' }])
        .withExposedPorts(80);
    await using ok = await protectedHttpd().withWaitStrategy(Wait.forHttp('/hello.txt', 80).withBasicCredentials('tester', 'secret')).start();
    expect((await get(ok.getMappedPort(80))).status).toBe(401); // the control: without them, refused
    await using head = await protectedHttpd().withWaitStrategy(Wait.forHttp('/hello.txt', 80).withMethod('HEAD').withHeaders({ Authorization: `Basic ${Buffer.from('tester:secret').toString('base64')}` })).start();
    expect(head.container.record().state).toBe('running');
    const wrong = await startFailure(protectedHttpd().withWaitStrategy(Wait.forHttp('/hello.txt', 80).withBasicCredentials('tester', 'wrong').withStartupTimeout(400)));
    expect(wrong.message).toMatch(/last answer: status 401/);
  });

  it('forHttp: gives up on an answer after its read timeout', async () => {
    // A CGI script that never answers.
    const slow = () => httpd().withCopyContentToContainer([{ content: '#!/bin/sh\nexec sleep 1000\n', target: '/srv/cgi-bin/slow', mode: 0o755 }]);
    await using answering = await slow().withWaitStrategy(Wait.forHttp('/hello.txt', 80).withReadTimeout(100)).start(); // the control
    expect((await get(answering.getMappedPort(80))).status).toBe(200);
    const err = await startFailure(slow().withWaitStrategy(Wait.forHttp('/cgi-bin/slow', 80).withReadTimeout(100).withStartupTimeout(700)));
    expect(err.message).toMatch(/waiting for a 2xx status \(no answer within 100 ms\)/);
  });

  it('forHttp: refuses a port that is not exposed', async () => {
    await expect(busybox().withCommand(['sleep', '1000']).withWaitStrategy(Wait.forHttp('/', 80)).start()).rejects.toMatchObject({ code: 'PORT_NOT_EXPOSED' });
    expect(podNames()).toEqual([]);
  });

  it('forLogMessage: counts matching lines (strings and regexps), whole lines across chunks', async () => {
    await using c = await busybox()
      .withCommand(['sh', '-c', 'printf "rea"; sleep 0.2; printf "dy 1\\n"; sleep 0.2; echo "ready 2" >&2; exec sleep 1000'])
      .withWaitStrategy(Wait.forLogMessage(/^ready \d$/g, 2).withStartupTimeout(5000))
      .start();
    expect(c.logsSnapshot()).toEqual({ stdout: 'ready 1\n', stderr: 'ready 2\n' });
  });

  it('forLogMessage: times out when the message comes fewer times than asked', async () => {
    const err = await startFailure(busybox().withName('twice').withCommand(['sh', '-c', 'echo ready; echo ready; exec sleep 1000']).withWaitStrategy(Wait.forLogMessage('ready', 3).withStartupTimeout(500)));
    expect(err.code).toBe('WAIT_TIMEOUT');
    expect(err.message).toMatch(/^twice was not ready after 500 ms: log message "ready": waiting for it 3 time\(s\), seen 2/);
    expect(err.logLines).toEqual(['ready', 'ready']);
  });

  it('forHealthCheck: waits for healthy; unhealthy fails at once with the last log lines; none is refused', async () => {
    // Its checks fail until the file is made: the start period keeps a slow start from counting as unhealthy.
    await using c = await busybox().withCommand(['sh', '-c', 'sleep 0.3; touch /tmp/ok; exec sleep 1000']).withHealthCheck({ test: ['CMD-SHELL', 'test -e /tmp/ok'], interval: 100, startPeriod: 10_000 }).withWaitStrategy(Wait.forHealthCheck()).start();
    expect((await c.exec(['cat', '/tmp/ok'])).exitCode).toBe(0);
    const t0 = Date.now();
    // Two failed checks 300 ms apart: the line it printed at once is in its log by then, even on a loaded machine.
    const sick = busybox().withCommand(['sh', '-c', 'echo about to fail; exec sleep 1000']).withHealthCheck({ test: ['CMD', 'false'], interval: 300, retries: 2 }).withWaitStrategy(Wait.forHealthCheck().withStartupTimeout(20_000));
    await expect(sick.start()).rejects.toThrow(/unhealthy[\s\S]*about to fail/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await expect(busybox().withCommand(['sleep', '1000']).withWaitStrategy(Wait.forHealthCheck()).start()).rejects.toThrow(/has no health check/);
  });

  it('forSuccessfulCommand: waits until the command exits 0', async () => {
    await using c = await busybox().withCommand(['sh', '-c', 'sleep 0.3; touch /tmp/ready; exec sleep 1000']).withWaitStrategy(Wait.forSuccessfulCommand('test -e /tmp/ready')).start();
    expect((await c.exec(['ls', '/tmp'])).stdout).toBe('ready\n');
  });

  it('forSuccessfulCommand: times out with the last exit code', async () => {
    const err = await startFailure(busybox().withCommand(['sh', '-c', 'echo waiting; exec sleep 1000']).withWaitStrategy(Wait.forSuccessfulCommand('echo no >&2; exit 4').withStartupTimeout(500)));
    expect(err.message).toMatch(/command "echo no >&2; exit 4": waiting for exit code 0 \(last exit code 4: no\)/);
    expect(err.logLines).toEqual(['waiting']);
  });

  it('forOneShotStartup: ready once it exits 0; a failing exit fails at once with its code and log', async () => {
    const c = await busybox().withCommand(['sh', '-c', 'sleep 0.2; echo migrated']).withWaitStrategy(Wait.forOneShotStartup()).start();
    expect(c.container.record()).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(c.logsSnapshot().stdout).toBe('migrated\n');
    await c.stop();
    // A timeout of two minutes: the failure must come from the exit, not the clock (the test's own limit is 30 s).
    const err = await startFailure(busybox().withName('oneshot-fail').withCommand(['sh', '-c', 'echo broken >&2; exit 3']).withWaitStrategy(Wait.forOneShotStartup().withStartupTimeout(120_000)));
    expect(err.code).toBe('CONTAINER_EXITED');
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/^oneshot-fail exited with code 3 while starting/);
    expect(err.logLines).toEqual(['broken']);
  });

  it('any strategy: a container that exits during the wait fails it at once, with its exit code and last log lines', async () => {
    for (const strategy of [Wait.forHttp('/hello.txt', 80), Wait.forLogMessage('never'), Wait.forListeningPorts(), Wait.forSuccessfulCommand('false')]) {
      const err = await startFailure(busybox().withName('quitter').withCommand(['sh', '-c', 'echo giving up; exit 7']).withExposedPorts(80).withWaitStrategy(strategy.withStartupTimeout(120_000)));
      expect(err.code).toBe('CONTAINER_EXITED');
      expect(err.exitCode).toBe(7);
      expect(err.message).toMatch(/^quitter exited with code 7 while starting \(it stopped before it was ready\)/);
      expect(err.logLines).toEqual(['giving up']);
      expect(err.hint).toMatch(/forOneShotStartup/);
    }
    expect(podNames()).toEqual([]);
  });

  it('forAll: ready when every strategy is; a failing one is named, with its own timeout', async () => {
    await using c = await httpd('echo booting')
      .withWaitStrategy(Wait.forAll([Wait.forLogMessage('booting'), Wait.forHttp('/hello.txt', 80), Wait.forListeningPorts()]))
      .start();
    expect((await get(c.getMappedPort(80))).status).toBe(200);
    // The builder's startup timeout goes to the strategies that have none.
    const err = await startFailure(httpd('echo booting').withWaitStrategy(Wait.forAll([Wait.forHttp('/hello.txt', 80), Wait.forLogMessage('never')])).withStartupTimeout(400));
    expect(err.code).toBe('WAIT_TIMEOUT');
    expect(err.message).toMatch(/was not ready after 400 ms: log message "never": waiting for it 1 time\(s\), seen 0/);
    expect(err.logLines).toEqual(['booting']);
    // withDeadline limits the whole, beside each strategy's own timeout.
    const whole = await startFailure(busybox().withCommand(['sleep', '1000']).withWaitStrategy(Wait.forAll([Wait.forLogMessage('never').withStartupTimeout(60_000)]).withDeadline(300)));
    expect(whole.message).toMatch(/was not ready after 300 ms: all of: log message "never"/);
  });
});

describe(`GenericPod (${testMode})`, () => {
  it('runs several containers sharing localhost, in order, with the ports published on the pod', async () => {
    const pod = await new GenericPod()
      .withRoot(root)
      .withName('app')
      .withContainer(httpd('echo web up').withName('web').withWaitStrategy(Wait.forHttp('/hello.txt', 80)))
      .withContainer(busybox().withName('client').withCommand(['sh', '-c', 'wget -qO- http://localhost/hello.txt; exec sleep 1000']).withWaitStrategy(Wait.forLogMessage('hello')))
      .start();
    try {
      expect(pod.getName()).toBe('app');
      expect(pod.getContainers().map((c) => c.getName())).toEqual(['web', 'client']);
      // client ran after web was ready: its first request got the page.
      expect(pod.getContainer('client').logsSnapshot().stdout).toBe('hello from the image\n');
      expect((await pod.getContainer('client').exec(['wget', '-qO-', 'http://127.0.0.1/hello.txt'])).stdout).toBe('hello from the image\n');
      expect(pod.getContainer('client').getMappedPort(80)).toBe(pod.getMappedPort(80));
      expect(await get(pod.getMappedPort(80))).toEqual({ status: 200, body: 'hello from the image\n' });
      expect(JSON.parse(nsbox(root, ['ps', '--pod', 'app', '--format', 'json']).stdout).map((c: { name: string }) => c.name).sort()).toEqual(['client', 'web']);
      // Stopping a member removes it alone.
      await pod.getContainer('client').stop();
      expect(JSON.parse(nsbox(root, ['ps', '-a', '--pod', 'app', '--format', 'json']).stdout).map((c: { name: string }) => c.name)).toEqual(['web']);
    } finally {
      await pod.stop();
      await pod.stop();
    }
    expect(podNames()).not.toContain('app');
  });

  it('refuses a port exposed by two of its containers, and removes the pod when a member fails to start', async () => {
    await expect(new GenericPod().withRoot(root).withContainer(httpd().withName('a')).withContainer(httpd().withName('b')).start()).rejects.toMatchObject({ code: 'INVALID_PORT' });
    const err = await new GenericPod()
      .withRoot(root)
      .withName('half')
      .withContainer(httpd().withName('ok'))
      .withContainer(busybox().withName('bad').withCommand(['sh', '-c', 'echo bad; exit 2']).withWaitStrategy(Wait.forLogMessage('never')))
      .start()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CONTAINER_EXITED', exitCode: 2 });
    expect((err as WaitError).message).toMatch(/^half\/bad exited with code 2/);
    expect(podNames()).not.toContain('half');
  });
});

describe(`cleanup when the test process dies (${testMode})`, () => {
  it('removes a builder container and its pod when the process that started it is killed with SIGKILL', async () => {
    const indexUrl = new URL('../dist/index.js', import.meta.url).href;
    const script = `import { GenericContainer } from '${indexUrl}';
const c = await new GenericContainer('busybox').withRoot(${JSON.stringify(root)}).withName('orphan').withCommand(['httpd', '-f', '-p', '80', '-h', '/srv']).withExposedPorts(80).start();
console.log(JSON.stringify({ pause: c.container.pod.record.pause.pid, pid: c.container.record().process.pid, port: c.getMappedPort(80), pod: c.container.pod.id }));
setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const facts = await new Promise<{ pause: number; pid: number; port: number; pod: string }>((resolve) => child.stdout.once('data', (d) => resolve(JSON.parse(String(d)))));
    expect((await get(facts.port)).status).toBe(200); // the control: it runs and answers
    expect(podNames()).toContain('orphan');
    child.kill('SIGKILL');
    await waitFor(() => isGoneOrZombie(facts.pause) && isGoneOrZombie(facts.pid), 5000, 'the pause and httpd to die with their creator');
    expect(podNames()).not.toContain('orphan');
    expect(await portRefused(facts.port)).toBe(true);
    // Its files go with the next pod made in this root.
    await using next = await busybox().withCommand(['sleep', '1000']).start();
    expect(podDirs(root)).toEqual([next.container.pod.id]);
  });
});
