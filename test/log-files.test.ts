// Container logs as files: docker's json-file format, rotation by size
// (--log-opt max-size), and readers whose memory does not grow with the log
// (`logs` of a large log, `logs -f` by offset, `--tail` from the end).
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, testMode } from './helpers/env.js';
import { setUpPodRoot, tearDownPodRoot } from './helpers/pod-root.js';
import { nsbox, waitFor } from './helpers/nsbox.js';

let root: string;
const POD = 'lg';

function containerDir(name: string): string {
  const [pod] = JSON.parse(nsbox(root, ['pod', 'ls', '--format', 'json']).stdout) as { id: string }[];
  return join(root, 'pods', pod!.id, 'containers', name);
}

beforeAll(() => {
  root = setUpPodRoot(POD);
});
afterAll(() => tearDownPodRoot(root));

describe(`log files (${testMode})`, () => {
  it("are docker's json-file format: one {log, stream, time} object per line", () => {
    expect(nsbox(root, ['run', '--pod', POD, '--name', 'fmt', 'busybox', 'sh', '-c', 'echo out; echo err >&2']).code).toBe(0);
    const lines = readFileSync(join(containerDir('fmt'), 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines.map((l) => [l.log, l.stream])).toEqual(expect.arrayContaining([['out\n', 'stdout'], ['err\n', 'stderr']]));
    for (const l of lines) expect(Date.parse(l.time!)).toBeGreaterThan(Date.parse('2020-01-01'));
  });

  it('rotate at --log-opt max-size, keeping the one before; logs and --tail read across both, in order', async () => {
    // 4000 numbered lines of ~100 bytes (with the json around them): several rotations at 64 KiB.
    const writer = 'i=1; while [ $i -le 4000 ]; do printf "%05d %094d\\n" $i 0; i=$((i+1)); done';
    expect(nsbox(root, ['run', '--pod', POD, '--name', 'rot', '--log-opt', 'max-size=64k', 'busybox', 'sh', '-c', writer]).code).toBe(0);
    const dir = containerDir('rot');
    expect(readdirSync(dir).filter((f) => f.startsWith('log.jsonl')).sort()).toEqual(['log.jsonl', 'log.jsonl.1']);
    // A file goes past max-size by at most its last entry (a line, or 16 KiB of one).
    for (const f of ['log.jsonl', 'log.jsonl.1']) expect(statSync(join(dir, f)).size).toBeLessThan(64 * 1024 + 1024);
    expect(statSync(join(dir, 'log.jsonl.1')).size).toBeGreaterThanOrEqual(64 * 1024);
    const numbers = (text: string) => text.trim().split('\n').map((l) => Number(l.slice(0, 5)));
    const all = numbers(nsbox(root, ['logs', `${POD}/rot`]).stdout);
    // What is kept is the end, whole and in order: older output went with the rotations.
    expect(all.at(-1)).toBe(4000);
    const kept = ['log.jsonl', 'log.jsonl.1'].map((f) => readFileSync(join(dir, f), 'utf8').trim().split('\n').length);
    expect(all.length).toBe(kept[0]! + kept[1]!); // both files, every line
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => 4001 - all.length + i));
    expect(numbers(nsbox(root, ['logs', '--tail', '3', `${POD}/rot`]).stdout)).toEqual([3998, 3999, 4000]);
    // --tail reaching into the rotated file.
    expect(numbers(nsbox(root, ['logs', '--tail', String(all.length), `${POD}/rot`]).stdout)).toEqual(all);
    const bad = nsbox(root, ['run', '--pod', POD, '--log-opt', 'max-size=lots', 'busybox', 'true']);
    expect(bad.stderr).toBe('nsbox: invalid log max-size "lots": give a size such as 512k, 10m or 1g\n');
    expect(nsbox(root, ['run', '--pod', POD, '--log-opt', 'color=on', 'busybox', 'true']).stderr).toMatch(/^nsbox: unknown log option "color=on"/);
  });

  it('logs -f follows across rotations without losing or repeating a line', async () => {
    // The writer starts once the follower is reading (it printed the first line), then
    // writes bursts of 200 lines: each entry is about 164 bytes of log, so a burst
    // rotates the 16 KiB log twice, usually while the follower sleeps between its
    // reads (the file it holds, then the one that is LOG.1 by then, then LOG).
    // A pause between bursts lets it catch up: more than two rotations behind, the
    // lines of the file in between are gone (only LOG.1 is kept).
    const writer = 'echo 00000 start; until [ -e /tmp/go ]; do sleep 0.05; done; i=1; while [ $i -le 1000 ]; do printf "%05d %094d\\n" $i 0; [ $((i % 200)) = 0 ] && sleep 1; i=$((i+1)); done';
    expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'slow', '--log-opt', 'max-size=16k', 'busybox', 'sh', '-c', writer]).code).toBe(0);
    const follower = spawn(process.execPath, [cliPath, '--root', root, 'logs', '-f', `${POD}/slow`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follower.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => follower.on('close', (code) => r(code)));
    await waitFor(() => out.includes('start'), 15_000, 'the follower to read');
    expect(nsbox(root, ['exec', '--join', 'slow', POD, '--', 'touch', '/tmp/go']).code).toBe(0);
    expect(await exited).toBe(0);
    const seen = out.trim().split('\n').slice(1).map((l) => Number(l.slice(0, 5)));
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it('logs into a pipe that closes early (| head) ends quietly', () => {
    const r = spawnSync('sh', ['-c', `${process.execPath} ${cliPath} --root ${root} logs ${POD}/rot | head -n 2`], { encoding: 'utf8' });
    expect(r.stdout.split('\n').slice(0, 2).every((l) => /^\d{5} /.test(l))).toBe(true);
    expect(r.stderr).toBe('');
  });

  it('logs of a large log prints it all without holding it in memory', async () => {
    // ~48 MiB of output; the reader gets a 32 MiB V8 heap, which a whole-file read would overflow.
    expect(nsbox(root, ['run', '-d', '--pod', POD, '--name', 'big', 'busybox', 'sh', '-c', 'yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c 50000000']).code).toBe(0);
    expect(nsbox(root, ['wait', `${POD}/big`]).stdout).toBe('0\n');
    const log = join(containerDir('big'), 'log.jsonl');
    await waitFor(() => statSync(log).size > 50_000_000, 10_000, 'the log');
    const limited = (args: string[]) => spawnSync(process.execPath, ['--max-old-space-size=32', ...args], { encoding: 'buffer', maxBuffer: 1 << 27 });
    // Positive control: holding the log's entries (as a reader that parses the whole file does) does not fit in that heap.
    const control = limited(['-e', `const t = require('fs').readFileSync(${JSON.stringify(log)}, 'utf8'); const e = t.split('\\n').filter(Boolean).map((l) => JSON.parse(l)); console.log(e.length)`]);
    expect(control.status).not.toBe(0);
    const r = limited([cliPath, '--root', root, 'logs', `${POD}/big`]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.length).toBe(50_000_000);
  });
});
