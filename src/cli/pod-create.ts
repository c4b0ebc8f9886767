import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { collect } from './parse.js';
import { writeOut } from './output.js';

export function registerPodCreate(pod: Command): void {
  pod
    .command('create')
    .description('create a pod: a pause process holding new user, net, pid, ipc and uts namespaces')
    .option('--name <name>', 'pod name (default: generated)')
    .option('--hostname <hostname>', 'hostname inside the pod (default: the name)')
    .option('-p, --publish <[ip:]hostport:podport[/tcp|/udp]>', 'publish a pod port on the host (repeatable; ranges like 8080-8082:80-82)', collect, [])
    .option('--label <KEY=VALUE>', 'set a label on the pod (repeatable)', collect, [])
    .option('--network <mode|name>', 'builtin (forward published ports), pasta (outbound access too; Debian passt), none (loopback only), or the name of a user network (repeatable)', collect, [])
    .option('--network-alias <alias>', 'another name of the pod on its user networks (repeatable)', collect, [])
    .option('--add-host <name:ip>', "an entry of every container's /etc/hosts (repeatable)", collect, [])
    .action(async (opts: { name?: string; hostname?: string; publish: string[]; network: string[]; networkAlias: string[]; label: string[]; addHost: string[] }, cmd: Command) => {
      const { createPod } = await import('../api/create-pod.js');
      const modes = ['builtin', 'pasta', 'none'];
      const named = opts.network.filter((n) => !modes.includes(n));
      const mode = opts.network.find((n) => modes.includes(n));
      const networks = named.map((name) => ({ name, aliases: opts.networkAlias }));
      const p = await createPod({ name: opts.name, hostname: opts.hostname, root: stateRoot(cmd), detached: true, ports: opts.publish, labels: opts.label, ...(mode ? { network: mode } : {}), networks, addHosts: opts.addHost, ...(!named.length && opts.networkAlias.length ? { networkAliases: opts.networkAlias } : {}) });
      writeOut(p.id + '\n');
    });
}
