import type { Command } from 'commander';
import { parseSeconds } from './parse.js';
import { stateRoot } from './context.js';
import { writeOut } from './output.js';

export function registerPodStop(pod: Command): void {
  pod
    .command('stop')
    .description('stop a pod: SIGTERM, then SIGKILL after the grace period')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], opts: { time: string }, cmd: Command) => {
      const timeoutSeconds = parseSeconds(opts.time, '-t');
      const root = stateRoot(cmd);
      const { getPod } = await import('../api/pods.js');
      for (const ref of refs) {
        const p = getPod(ref, { root });
        await p.stop({ timeoutSeconds });
        writeOut(p.id + '\n');
      }
    });
}
