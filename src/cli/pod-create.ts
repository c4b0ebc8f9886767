import type { Command } from 'commander';
import { stateRoot } from './context.js';

export function registerPodCreate(pod: Command): void {
  pod
    .command('create')
    .description('create a pod: a pause process holding new user, net, pid, ipc and uts namespaces')
    .option('--name <name>', 'pod name (default: generated)')
    .option('--hostname <hostname>', 'hostname inside the pod (default: the name)')
    .action(async (opts: { name?: string; hostname?: string }, cmd: Command) => {
      const { createPod } = await import('../pod/create.js');
      const p = await createPod({ name: opts.name, hostname: opts.hostname, root: stateRoot(cmd), detached: true });
      process.stdout.write(p.id + '\n');
    });
}
