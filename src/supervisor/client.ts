// Sends one request to a pod's supervisor and waits for its answer.
import { connect } from 'node:net';
import { NsboxError } from '../errors.js';
import type { SupervisorRequest, SupervisorResponse } from './protocol.js';

export function requestSupervisor(socketPath: string, req: SupervisorRequest, timeoutMs = 5000): Promise<SupervisorResponse & { ok: true }> {
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
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new NsboxError('SUPERVISOR_UNREACHABLE', `cannot reach the pod supervisor: ${err.message}`));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      reject(new NsboxError('SUPERVISOR_UNREACHABLE', 'the pod supervisor closed the connection'));
    });
  });
}
