import type { Command } from 'commander';
import { parseSeconds } from './parse.js';
import { stateRoot } from './context.js';
import { writeOut } from './output.js';

export function registerPodRm(pod: Command): void {
  pod
    .command('rm')
    .alias('remove')
    .description('remove a pod (with -f, stop it first)')
    .option('-f, --force', 'stop a running pod before removing it')
    .option('-t, --time <seconds>', 'grace period when stopping with -f', '0')
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], opts: { force?: boolean; time: string }, cmd: Command) => {
      const timeoutSeconds = parseSeconds(opts.time, '-t');
      const root = stateRoot(cmd);
      const { getPod } = await import('../api/pods.js');
      for (const ref of refs) {
        const p = getPod(ref, { root });
        await p.remove({ force: opts.force, timeoutSeconds });
        writeOut(p.id + '\n');
      }
    });
}
