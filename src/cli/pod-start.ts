import type { Command } from 'commander';
import { parseSeconds } from './parse.js';
import { stateRoot } from './context.js';
import { writeOut } from './output.js';

/** `pod start` and `pod restart`, podman's: each pod's id once it runs. */
export function registerPodStart(pod: Command): void {
  pod
    .command('start')
    .description("start stopped pods again: a new pause with the pod's ports and networks, then its containers")
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const root = stateRoot(cmd);
      const { getPod } = await import('../api/pods.js');
      for (const ref of refs) {
        const p = getPod(ref, { root });
        await p.start();
        writeOut(p.id + '\n');
      }
    });
  pod
    .command('restart')
    .description("restart pods' containers (the pause stays); a stopped pod is started")
    .option('-t, --time <seconds>', 'grace period before SIGKILL', '10')
    .argument('<pod...>', 'pod names or ids')
    .action(async (refs: string[], opts: { time: string }, cmd: Command) => {
      const timeoutSeconds = parseSeconds(opts.time, '-t');
      const root = stateRoot(cmd);
      const { getPod } = await import('../api/pods.js');
      for (const ref of refs) {
        const p = getPod(ref, { root });
        await p.restart({ timeoutSeconds });
        writeOut(p.id + '\n');
      }
    });
}
