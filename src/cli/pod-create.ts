import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { collect } from './parse.js';

export function registerPodCreate(pod: Command): void {
  pod
    .command('create')
    .description('create a pod: a pause process holding new user, net, pid, ipc and uts namespaces')
    .option('--name <name>', 'pod name (default: generated)')
    .option('--hostname <hostname>', 'hostname inside the pod (default: the name)')
    .option('-p, --publish <[ip:]hostport:podport[/tcp]>', 'publish a pod port on the host (repeatable)', collect, [])
    .action(async (opts: { name?: string; hostname?: string; publish: string[] }, cmd: Command) => {
      const { createPod } = await import('../pod/create.js');
      const p = await createPod({ name: opts.name, hostname: opts.hostname, root: stateRoot(cmd), detached: true, ports: opts.publish });
      process.stdout.write(p.id + '\n');
    });
}
