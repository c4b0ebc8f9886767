// `nsbox network create|ls|inspect|rm|connect|disconnect|exists`: user-defined networks, as podman's.
import type { Command } from 'commander';
import { stateRoot } from './context.js';
import { forEachRef } from './each-ref.js';
import { parseFormat, table } from './format.js';
import { collect } from './parse.js';
import { writeOut } from './output.js';

export function registerNetwork(program: Command): void {
  const network = program.command('network').description('manage user networks: pods on one reach each other by name, isolated from other networks and the host');

  network
    .command('create')
    .description('create a network (a bridge in a network namespace of its own) and print its name')
    .argument('<name>')
    .option('--subnet <CIDR>', 'IPv4 subnet (default: the first free 10.89.N.0/24)')
    .option('--label <KEY=VALUE>', 'set a label (repeatable)', collect, [])
    .option('--internal', 'recorded as podman does (a user network has no outbound access anyway)')
    .action(async (name: string, opts: { subnet?: string; label: string[]; internal?: boolean }, cmd: Command) => {
      const { createNetwork } = await import('../api/networks.js');
      const n = await createNetwork({ name, subnet: opts.subnet, labels: opts.label, internal: !!opts.internal, root: stateRoot(cmd) });
      writeOut(n.Name + '\n');
    });

  network
    .command('ls')
    .alias('list')
    .description('list networks')
    .option('--format <format>', 'table or json', 'table')
    .option('-q, --quiet', 'print only the names')
    .action(async (opts: { format?: string; quiet?: boolean }, cmd: Command) => {
      const format = parseFormat(opts.format);
      const { listNetworks } = await import('../api/networks.js');
      const nets = listNetworks({ root: stateRoot(cmd) });
      if (format === 'json') return void writeOut(JSON.stringify(nets, null, 2) + '\n');
      if (opts.quiet) return void writeOut(nets.map((n) => n.Name + '\n').join(''));
      writeOut(table(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET'], nets.map((n) => [n.Id.slice(0, 12), n.Name, n.Driver, n.Subnets[0]?.subnet ?? ''])) + '\n');
    });

  network
    .command('inspect')
    .description("show networks as JSON (podman's fields)")
    .argument('<name...>')
    .action(async (names: string[], _opts: unknown, cmd: Command) => {
      const { inspectNetwork } = await import('../api/networks.js');
      writeOut(JSON.stringify(names.map((n) => inspectNetwork(n, { root: stateRoot(cmd) })), null, 2) + '\n');
    });

  network
    .command('exists')
    .description('exit 0 if the network exists, 1 if not')
    .argument('<name>')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { networkExists } = await import('../api/networks.js');
      if (!networkExists(name, { root: stateRoot(cmd) })) process.exitCode = 1;
    });

  network
    .command('rm')
    .alias('remove')
    .description('remove networks; refused while pods are on one (-f: remove those pods too)')
    .option('-f, --force', 'remove the pods on the network too')
    .argument('<name...>')
    .action(async (names: string[], opts: { force?: boolean }, cmd: Command) => {
      const { removeNetwork } = await import('../api/networks.js');
      await forEachRef(names, async (name) => {
        await removeNetwork(name, { root: stateRoot(cmd), force: !!opts.force });
        writeOut(name + '\n');
      });
    });

  network
    .command('connect')
    .description('connect a running pod (one created on a user network) to a network')
    .option('--alias <alias>', 'another name of the pod on this network (repeatable)', collect, [])
    .argument('<network>')
    .argument('<pod>')
    .action(async (net: string, pod: string, opts: { alias: string[] }, cmd: Command) => {
      const { connectNetwork } = await import('../api/networks.js');
      await connectNetwork(net, pod, { root: stateRoot(cmd), aliases: opts.alias });
    });

  network
    .command('disconnect')
    .description('disconnect a pod from a network')
    .argument('<network>')
    .argument('<pod>')
    .action(async (net: string, pod: string, _opts: unknown, cmd: Command) => {
      const { disconnectNetwork } = await import('../api/networks.js');
      await disconnectNetwork(net, pod, { root: stateRoot(cmd) });
    });
}
