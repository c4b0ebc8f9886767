// A sidecar's startup probe, as the kubelet orders it: the next init
// container starts only once the sidecar's startup probe has passed (after
// its initial delay, every period). Where the kubelet would restart the
// sidecar and keep the pod waiting, the play fails once the probe has
// failed failureThreshold times in a row, naming the probe's last output
// and the sidecar's last log lines.
import { NsboxError } from '../errors.js';
import type { KubeProbe } from '../kube/model.js';
import type { Container } from './container.js';
import { runProbe } from './probe.js';
import { lastLogLines } from './testcontainers/log-lines.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function awaitSidecarStartup(c: Container, ref: string, probe: KubeProbe): Promise<void> {
  await sleep(probe.initialDelayMs);
  let failures = 0;
  let last = '';
  for (;;) {
    const started = Date.now();
    const r = await runProbe(c, probe.action, probe.timeoutMs);
    if (r.passed) return;
    last = r.output;
    if (++failures >= probe.failureThreshold) break;
    await sleep(Math.max(0, probe.periodMs - (Date.now() - started)));
  }
  const lines = lastLogLines(c, 5);
  throw new NsboxError(
    'KUBE_SIDECAR_NOT_STARTED',
    `sidecar ${ref}: its startup probe failed ${failures} times in a row${last ? ` (last: ${last})` : ''}${lines.length ? `; its last lines: ${lines.join(' | ')}` : ''}`,
    `see \`nsbox logs ${ref}\`, and fix the sidecar or give its startupProbe a higher failureThreshold`,
  );
}
