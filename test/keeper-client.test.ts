// The keeper client's wait for the end of a podstop (untilClosed): after an
// `ok`, the request resolves only once the keeper has closed the connection
// (it exits after answering); any other answer, with the connection left
// open, resolves at once instead of waiting for the timeout. A real unix
// socket server stands in for the keeper.
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestKeeper } from '../dist/keeper/client.js';
import { cleanupRoot, tempRoot } from './helpers/env.js';

let root = '';
beforeAll(() => {
  root = tempRoot();
});
afterAll(() => cleanupRoot(root));

const answerFrame = (text: string) => {
  const body = Buffer.from(text, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
};

/** A server at a fresh path that answers each connection with `answer`, and closes it `closeAfterMs` later (never when null). */
async function fakeKeeper(answer: string, closeAfterMs: number | null): Promise<{ path: string; server: Server; open: Set<Socket> }> {
  const path = join(root, `k${Math.random().toString(16).slice(2, 8)}.sock`);
  const open = new Set<Socket>();
  const server = createServer((sock) => {
    open.add(sock);
    sock.once('data', () => {
      sock.write(answerFrame(answer));
      if (closeAfterMs !== null) setTimeout(() => sock.destroy(), closeAfterMs);
    });
    sock.on('close', () => open.delete(sock));
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, open };
}

async function timedRequest(path: string): Promise<{ answer: string; ms: number }> {
  const t0 = performance.now();
  const answer = await requestKeeper(path, 'podstop 0', { timeoutMs: 10_000, untilClosed: true });
  return { answer, ms: performance.now() - t0 };
}

describe('requestKeeper untilClosed', () => {
  it('after ok, waits for the keeper to close the connection', async () => {
    const k = await fakeKeeper('ok', 400);
    try {
      const r = await timedRequest(k.path);
      expect(r.answer).toBe('ok');
      expect(r.ms).toBeGreaterThanOrEqual(350);
    } finally {
      k.server.close();
    }
  });

  it('any other answer resolves at once, although the connection stays open', async () => {
    const k = await fakeKeeper('err protocol: this keeper speaks nsbox-keeper/0', null);
    try {
      const r = await timedRequest(k.path);
      expect(r.answer).toBe('err protocol: this keeper speaks nsbox-keeper/0');
      expect(r.ms).toBeLessThan(3000);
    } finally {
      for (const s of k.open) s.destroy();
      k.server.close();
    }
  });
});
