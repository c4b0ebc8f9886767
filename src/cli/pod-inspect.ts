import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { NsboxError } from '../errors.js';
import { writeOut } from './output.js';

export function registerPodInspect(pod: Command): void {
  pod
    .command('inspect')
    .description('show a pod as JSON')
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { inspectPod } = await import('../api/pods.js');
      const root = stateRoot(cmd);
      const out = refs.map((ref) => inspectPod(ref, { root }));
      writeOut(JSON.stringify(refs.length === 1 ? out[0] : out, null, 2) + '\n');
    });
}

export function registerPodExists(pod: Command): void {
  pod
    .command('exists')
    .description('exit 0 if the pod exists, 1 if not (podman pod exists)')
    .argument('<pod>', 'pod name or id')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { inspectPod } = await import('../api/pods.js');
      try {
        inspectPod(ref, { root: stateRoot(cmd) });
      } catch (err) {
        if (err instanceof NsboxError && err.code === 'NO_SUCH_POD') return void (process.exitCode = 1);
        throw err;
      }
    });
}
