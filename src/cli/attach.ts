// nsbox attach POD/NAME: a live terminal (or stdio) of a container of a detached pod.
import type { Command } from 'commander';
import { stateRoot } from './context.js';

export function registerAttach(program: Command): void {
  program
    .command('attach')
    .description("attach to a running container's terminal or stdio (detach with ctrl-p ctrl-q)")
    .option('--detach-keys <keys>', 'the keys that detach, as docker takes them (default ctrl-p,ctrl-q)')
    .option('--no-stdin', 'do not pass our input to it')
    .argument('<container>', 'POD/NAME, or NAME of a container in a pod of its own')
    .action(async (ref: string, opts: { detachKeys?: string; stdin: boolean }, cmd: Command) => {
      const { detachKeysOf, relayAttachment } = await import('./attach-relay.js');
      const detachKeys = detachKeysOf(opts.detachKeys);
      const { getContainer } = await import('../api/containers.js');
      const c = getContainer(ref, { root: stateRoot(cmd) });
      const r = c.record();
      const stdin = opts.stdin && !!(r.openStdin || r.tty);
      const a = await c.attach({ stdin });
      const code = await relayAttachment(a, { stdin, detachKeys });
      if (code !== null) process.exitCode = code;
    });
}
