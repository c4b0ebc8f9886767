// Sends one request to a pod's supervisor and waits for its answer.
import { NsboxError } from '../errors.js';
import type { SupervisorRequest, SupervisorResponse } from './protocol.js';

async function requestOnce(socketPath: string, req: SupervisorRequest, timeoutMs: number): Promise<SupervisorResponse & { ok: true }> {
  // Loaded here, not at the top: a bundled CLI would otherwise load node:net on every start.
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new NsboxError('SUPERVISOR_TIMEOUT', `the pod supervisor did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      const res = JSON.parse(buf.slice(0, nl)) as SupervisorResponse;
      if (res.ok) resolve(res);
      else reject(new NsboxError(res.error.code, res.error.message, res.error.hint));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(Object.assign(new NsboxError('SUPERVISOR_UNREACHABLE', `cannot reach the pod supervisor: ${err.message}`), { cause: err.code }));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new NsboxError('SUPERVISOR_UNREACHABLE', 'the pod supervisor closed the connection'));
    });
  });
}

const BOOT_RETRY_MS = 10;
const BOOT_WAIT_MS = 5000;

/**
 * Sends one request. A supervisor that is still starting (`pod create`
 * returns as soon as the pod runs, before its supervisor listens) is waited
 * for while `starting()` says it is alive.
 */
export async function requestSupervisor(
  socketPath: string,
  req: SupervisorRequest,
  timeoutMs = 5000,
  starting: () => boolean = () => false,
): Promise<SupervisorResponse & { ok: true }> {
  const deadline = Date.now() + BOOT_WAIT_MS;
  for (;;) {
    try {
      return await requestOnce(socketPath, req, timeoutMs);
    } catch (err) {
      const code = (err as { cause?: unknown }).cause;
      const booting = (code === 'ENOENT' || code === 'ECONNREFUSED') && Date.now() < deadline && starting();
      if (!booting) throw err;
      await new Promise((r) => setTimeout(r, BOOT_RETRY_MS));
    }
  }
}
