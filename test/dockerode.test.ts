// dockerode (testcontainers' own client) on `nsbox system service`, for
// what the CLIs do not reach: attach framing with stdout and stderr apart,
// a streamed archive upload, the archive endpoints' stat header and errors,
// archives that try to leave the container's root, copies into created and
// stopped containers, stats and events.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';
import { tarBuffer } from './helpers/archives.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox, waitFor } from './helpers/nsbox.js';
import { startService, type DockerService } from './helpers/docker-service.js';

let root: string;
let service: DockerService;
let d: Docker;

beforeAll(async () => {
  root = setUpPodRoot();
  service = await startService(root);
  d = new Docker({ socketPath: service.socket });
}, 60_000);

const pods = () => (JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { name: string }[]).map((p) => p.name);

afterEach(async () => {
  const left = await d.listContainers({ all: true });
  for (const c of left) await d.getContainer(c.Id).remove({ force: true });
  expect(left.map((c) => c.Names[0]), 'containers left behind').toEqual([]);
  expect(pods(), 'pods left behind').toEqual([]);
});

afterAll(async () => {
  await service?.stop();
  tearDownPodRoot(root);
});

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n';

async function run(cmd: string[]): Promise<Docker.Container> {
  const c = await d.createContainer({ Image: 'busybox', Cmd: cmd });
  await c.start();
  return c;
}

async function execOut(c: Docker.Container, cmd: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const e = await c.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({ hijack: true, stdin: false });
  const { stdout, stderr } = await demuxed(stream).ended;
  return { stdout, stderr, code: (await e.inspect()).ExitCode ?? -1 };
}

/** Splits a multiplexed stream into its stdout and stderr text; `ended` resolves with both once it ends. */
function demuxed(stream: NodeJS.ReadableStream): { ended: Promise<{ stdout: string; stderr: string }> } {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (b: Buffer) => (stdout += b.toString()));
  err.on('data', (b: Buffer) => (stderr += b.toString()));
  d.modem.demuxStream(stream, out, err);
  return { ended: new Promise((ok) => stream.on('end', () => ok({ stdout, stderr }))) };
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of s) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The stat header of a path, decoded. */
async function statOf(c: Docker.Container, path: string) {
  const res = (await c.infoArchive({ path })) as unknown as { headers: Record<string, string> };
  return JSON.parse(Buffer.from(res.headers['x-docker-container-path-stat']!, 'base64').toString()) as { name: string; size: number; mode: number; mtime: string; linkTarget: string };
}

const statusOf = (p: Promise<unknown>) => p.then(() => 200, (err: { statusCode?: number; json?: { message?: string }; message: string }) => ({ status: err.statusCode, message: err.json?.message ?? err.message }));

/** A file in the first member of a tar: its name and its bytes. */
function firstMember(tar: Buffer): { name: string; body: string } {
  const name = tar.subarray(0, 100).toString().replace(/\0.*$/s, '');
  const size = parseInt(tar.subarray(124, 136).toString().replace(/\0/g, '').trim(), 8);
  return { name, body: tar.subarray(512, 512 + size).toString() };
}

describe(`dockerode on nsbox system service (${testMode})`, () => {
  it('attach, hijacked and not: stdout and stderr arrive in their own frames', async () => {
    for (const hijack of [true, false]) {
      const c = await d.createContainer({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.3; echo out1; echo err1 >&2; echo out2; echo err2 >&2'] });
      const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack });
      const { ended } = demuxed(stream);
      await c.start();
      expect((await c.wait()).StatusCode).toBe(0);
      const { stdout, stderr } = await ended;
      expect(stdout, `hijack ${hijack}`).toBe('out1\nout2\n');
      expect(stderr, `hijack ${hijack}`).toBe('err1\nerr2\n');
      await c.remove();
    }
  });

  it('a streamed (chunked) archive upload of 3 MiB arrives whole; the stat header says what is there', async () => {
    const c = await run(['sleep', '1000']);
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 12)) & 0xff;
    const tar = tarBuffer([{ path: 'up/', type: 'dir', mode: 0o750 }, { path: 'up/big.bin', content: big, mode: 0o600 }]);
    // Handed over as a stream of small chunks: dockerode sends it chunked, with no Content-Length.
    const pieces = Array.from({ length: Math.ceil(tar.length / 65536) }, (_, i) => tar.subarray(i * 65536, (i + 1) * 65536));
    await c.putArchive(Readable.from(pieces), { path: '/tmp' });
    const { createHash } = await import('node:crypto');
    expect((await execOut(c, ['sha256sum', '/tmp/up/big.bin'])).stdout.split(' ')[0]).toBe(createHash('sha256').update(big).digest('hex'));
    const file = await statOf(c, '/tmp/up/big.bin');
    expect(file).toMatchObject({ name: 'big.bin', size: big.length, mode: 0o600, linkTarget: '' });
    expect(Date.parse(file.mtime) / 1000).toBe(Number((await execOut(c, ['stat', '-c', '%Y', '/tmp/up/big.bin'])).stdout.trim()));
    expect(await statOf(c, '/tmp/up')).toMatchObject({ name: 'up', mode: 2 ** 31 + 0o750 }); // Go's ModeDir
    expect(await statOf(c, '/bin/sh')).toMatchObject({ name: 'sh', mode: 2 ** 27 + 0o777, linkTarget: '/bin/busybox' }); // ModeSymlink
    expect(await statusOf(c.infoArchive({ path: '/no/such' }))).toMatchObject({ status: 404 });
    const missing = await statusOf(c.getArchive({ path: '/no/such' }));
    expect(missing).toMatchObject({ status: 404 });
    expect(await statusOf(c.putArchive(tarBuffer([{ path: 'x', content: 'x' }]), { path: '/no/such' }))).toMatchObject({ status: 404 });
    expect(await statusOf(c.putArchive(tarBuffer([{ path: 'x', content: 'x' }]), { path: '/etc/passwd' }))).toMatchObject({ status: 400 });
    // noOverwriteDirNonDir: a file where a directory is is refused (and, control, a file over a file is replaced).
    const dirOverFile = await statusOf(c.putArchive(tarBuffer([{ path: 'srv', content: 'not a dir' }]), { path: '/', noOverwriteDirNonDir: true }));
    expect(dirOverFile).toMatchObject({ status: 400 });
    expect((await execOut(c, ['cat', '/srv/hello.txt'])).stdout).toBe('hello from the image\n');
    await c.putArchive(tarBuffer([{ path: 'hello.txt', content: 'replaced\n' }]), { path: '/srv', noOverwriteDirNonDir: true });
    expect((await execOut(c, ['cat', '/srv/hello.txt'])).stdout).toBe('replaced\n');
    await c.remove({ force: true });
  });

  it('archives stay inside the root: ../ members, a symlink member and a symlinked path write nothing outside; a GET through a link to /../../etc reads the container\'s /etc', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    const c = await run(['sh', '-c', `ln -s /../../etc /esc; ln -s /../../../..${outside} /out; exec sleep 1000`]);
    for (let i = 0; i < 50 && (await execOut(c, ['test', '-L', '/out'])).code !== 0; i++) await new Promise((ok) => setTimeout(ok, 100));
    // A GET through the link: the container's passwd (the image's), not the host's.
    const tar = await readAll(await c.getArchive({ path: '/esc/passwd' }));
    expect(firstMember(tar)).toEqual({ name: 'passwd', body: PASSWD });
    expect(readFileSync('/etc/passwd', 'utf8')).not.toBe(PASSWD); // the control: the host's differs
    expect(await statOf(c, '/esc')).toMatchObject({ linkTarget: '/etc' });
    for (const [what, entries, path] of [
      ['a ../ member', [{ path: '../../../../../..' + outside + '/climbed.txt', content: 'x' }, { path: '../escape.txt', content: 'x' }], '/'],
      ['a symlink member, then a file below it', [{ path: 'link', type: 'symlink', linkpath: outside }, { path: 'link/pwned.txt', content: 'x' }], '/tmp'],
    ] as const) {
      const r = await statusOf(c.putArchive(tarBuffer(entries as never), { path }));
      expect(r, what).toMatchObject({ status: 400 });
    }
    // A path that is a link out: resolved in the container, where it leads nowhere.
    expect(await statusOf(c.putArchive(tarBuffer([{ path: 'through-path.txt', content: 'x' }]), { path: '/out' }))).toMatchObject({ status: 404 });
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(root, 'escape.txt'))).toBe(false);
    // Control: the same upload without the bad members lands.
    await c.putArchive(tarBuffer([{ path: 'fine.txt', content: 'fine\n' }]), { path: '/tmp' });
    expect((await execOut(c, ['cat', '/tmp/fine.txt'])).stdout).toBe('fine\n');
    await c.remove({ force: true });
  });

  it('copies into a created container are there when it starts; a stopped one is read and written', async () => {
    const c = await d.createContainer({ Image: 'busybox', Cmd: ['cat', '/etc/app.conf'] });
    await c.putArchive(tarBuffer([{ path: 'app.conf', content: 'copied before start\n' }]), { path: '/etc' });
    expect((await c.inspect()).State.Status).toBe('created');
    const logs = await c.attach({ stream: true, stdout: true, stderr: true });
    let out = '';
    const sink = new PassThrough().on('data', (b: Buffer) => (out += b.toString()));
    d.modem.demuxStream(logs, sink, new PassThrough());
    await c.start();
    expect((await c.wait()).StatusCode).toBe(0);
    await waitFor(() => out === 'copied before start\n', 5000, 'the output');
    expect((await c.inspect()).State.Status).toBe('exited');
    await c.putArchive(tarBuffer([{ path: 'later.txt', content: 'into a stopped one\n' }]), { path: '/tmp' });
    expect(firstMember(await readAll(await c.getArchive({ path: '/tmp/later.txt' })))).toEqual({ name: 'later.txt', body: 'into a stopped one\n' });
    await c.remove();
  });

  it('stats: docker\'s shape, with CPU that follows a busy loop and memory and pids that are there', async () => {
    const busy = await run(['sh', '-c', 'while :; do :; done']);
    const idle = await run(['sleep', '1000']);
    await new Promise((ok) => setTimeout(ok, 500));
    const s = (await busy.stats({ stream: false })) as unknown as Record<string, any>;
    const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
    const systemDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
    const percent = (cpuDelta / systemDelta) * s.cpu_stats.online_cpus * 100; // docker CLI's formula
    expect(percent).toBeGreaterThan(10); // a whole core when the machine is quiet; less on a loaded one
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.memory_stats.limit).toBeGreaterThanOrEqual(s.memory_stats.usage);
    expect(s.pids_stats.current).toBeGreaterThanOrEqual(1);
    expect(s.name).toMatch(/^\/nsbox_/);
    const i = (await idle.stats({ stream: false })) as unknown as Record<string, any>;
    const idlePercent = ((i.cpu_stats.cpu_usage.total_usage - i.precpu_stats.cpu_usage.total_usage) / (i.cpu_stats.system_cpu_usage - i.precpu_stats.system_cpu_usage)) * i.cpu_stats.online_cpus * 100;
    expect(idlePercent).toBeLessThan(3); // the control: the idle one uses nothing
    expect(percent).toBeGreaterThan(idlePercent * 3);
    // stream=true: one object a second.
    const stream = (await idle.stats({ stream: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const t0 = Date.now();
    let lines = 0;
    let text = '';
    for await (const chunk of stream) {
      text += chunk.toString();
      lines = text.split('\n').filter(Boolean).length;
      if (lines >= 2) break;
    }
    stream.destroy();
    expect(Date.now() - t0).toBeGreaterThan(700);
    expect(JSON.parse(text.split('\n')[1]!).pids_stats.current).toBe(1);
    await Promise.all([busy.remove({ force: true }), idle.remove({ force: true })]);
  });

  it('events: create, start, die and destroy of what the service does, between since and until, filtered', async () => {
    const since = Date.now() / 1000;
    const c = await run(['sh', '-c', 'exit 3']);
    expect((await c.wait()).StatusCode).toBe(3);
    const other = await run(['true']);
    await other.wait();
    await c.remove();
    await other.remove();
    await new Promise((ok) => setTimeout(ok, 50));
    const until = Date.now() / 1000;
    const read = async (filters: Record<string, string[]>) => {
      const s = (await d.getEvents({ since: String(since), until: String(until), filters: filters as never })) as unknown as NodeJS.ReadableStream;
      return (await readAll(s)).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } });
    };
    const mine = await read({ container: [c.id] });
    expect(mine.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(mine.find((e) => e.Action === 'die')!.Actor.Attributes.exitCode).toBe('3');
    // Control: the other container's events are there without the filter, and an event filter picks one kind.
    expect((await read({})).filter((e) => e.Actor.ID === other.id).length).toBe(4);
    expect((await read({ event: ['start'] })).map((e) => e.Actor.ID).sort()).toEqual([c.id, other.id].sort());
    // A stream without until stays open for what comes next.
    const live = (await d.getEvents({ filters: { event: ['create'] } as never })) as unknown as NodeJS.ReadableStream & { destroy(): void };
    const next = new Promise<string>((ok) => live.once('data', (b: Buffer) => ok(b.toString())));
    const late = await d.createContainer({ Image: 'busybox', Cmd: ['true'] });
    expect(JSON.parse(await next).Actor.ID).toBe(late.id);
    live.destroy();
    await late.remove();
  });
});
