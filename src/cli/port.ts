import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { writeOut } from './output.js';

export function registerPort(program: Command): void {
  program
    .command('port')
    .description("list a pod's published ports")
    .argument('<pod>', 'pod name or id')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const { inspectPod } = await import('../api/pods.js');
      const pod = inspectPod(ref, { root: stateRoot(cmd) });
      for (const p of pod.record.ports ?? []) writeOut(`${p.podPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
    });
}
