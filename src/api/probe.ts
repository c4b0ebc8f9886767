// One probe of a container, as Kubernetes' kubelet runs them: a command in
// the container (exit 0 passes), an HTTP GET inside the pod's network
// namespace (a status from 200 to 399 passes), or a TCP port that listens
// there. The HTTP request is made by this Node binary run in the pod (the
// pod's network is not reachable from the host); the TCP check reads the
// pod's /proc/PID/net/tcp from the host, so it works on images with no tools.
import { readFileSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { listeningTcpPorts } from '../core/proc-net.js';
import type { ProbeAction } from '../core/health.js';
import type { Container } from './container.js';

export interface ProbeResult {
  passed: boolean;
  output: string;
  timedOut: boolean;
}

/** Runs in the pod: argv is scheme, port, path, headers as JSON; exit 0 for 200-399. */
const HTTP_GET = `const [scheme, port, path, headers] = process.argv.slice(1);
const lib = require(scheme === 'HTTPS' ? 'node:https' : 'node:http');
const req = lib.get({ host: '127.0.0.1', port: Number(port), path, headers: JSON.parse(headers), rejectUnauthorized: false, agent: false }, (res) => {
  res.resume();
  process.stdout.write('HTTP ' + res.statusCode + '\\n');
  process.exit(res.statusCode >= 200 && res.statusCode < 400 ? 0 : 1);
});
req.on('error', (e) => { process.stdout.write(String(e.code || e.message) + '\\n'); process.exit(1); });`;

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function runProbe(c: Container, action: ProbeAction, timeoutMs: number): Promise<ProbeResult> {
  try {
    if (action.kind === 'tcp') {
      const pid = c.pod.record.pause.pid;
      const open = listeningTcpPorts(readOr(`/proc/${pid}/net/tcp`)).has(action.port) || listeningTcpPorts(readOr(`/proc/${pid}/net/tcp6`)).has(action.port);
      return { passed: open, output: open ? `port ${action.port} listens` : `nothing listens on port ${action.port}`, timedOut: false };
    }
    const r =
      action.kind === 'exec'
        ? await c.exec(action.command, { timeoutMs })
        : await c.pod.exec([process.execPath, '-e', HTTP_GET, action.scheme, String(action.port), action.path, JSON.stringify(action.headers)], { timeoutMs });
    const output = r.timedOut ? `no answer within ${timeoutMs} ms` : (r.stdout + r.stderr).trim();
    return { passed: !r.timedOut && r.exitCode === 0, output, timedOut: r.timedOut };
  } catch (err) {
    if (!(err instanceof NsboxError)) throw err;
    return { passed: false, output: err.oneLine(), timedOut: false };
  }
}
