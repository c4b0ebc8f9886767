import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { collect } from './parse.js';

export function registerPodCreate(pod: Command): void {
  pod
    .command('create')
    .description('create a pod: a pause process holding new user, net, pid, ipc and uts namespaces')
    .option('--name <name>', 'pod name (default: generated)')
    .option('--hostname <hostname>', 'hostname inside the pod (default: the name)')
    .option('-p, --publish <[ip:]hostport:podport[/tcp|/udp]>', 'publish a pod port on the host (repeatable; ranges like 8080-8082:80-82)', collect, [])
    .option('--label <KEY=VALUE>', 'set a label on the pod (repeatable)', collect, [])
    .option('--network <mode>', 'builtin (forward published ports), pasta (outbound access too; Debian passt) or none (loopback only)', 'builtin')
    .action(async (opts: { name?: string; hostname?: string; publish: string[]; network: string; label: string[] }, cmd: Command) => {
      const { createPod } = await import('../api/create-pod.js');
      const network = opts.network as 'builtin' | 'pasta' | 'none';
      const p = await createPod({ name: opts.name, hostname: opts.hostname, root: stateRoot(cmd), detached: true, ports: opts.publish, network, labels: opts.label });
      process.stdout.write(p.id + '\n');
    });
}
