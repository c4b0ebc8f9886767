import type { Command } from 'commander';
import { stateRoot } from './context.js';

export function registerPodInspect(pod: Command): void {
  pod
    .command('inspect')
    .description('show a pod as JSON')
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const { inspectPod } = await import('../api/pods.js');
      const root = stateRoot(cmd);
      const out = refs.map((ref) => inspectPod(ref, { root }));
      process.stdout.write(JSON.stringify(refs.length === 1 ? out[0] : out, null, 2) + '\n');
    });
}
