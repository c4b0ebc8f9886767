// `nsbox system service [--time SECONDS] [URI]`: podman's verb for the
// Docker-compatible API. A plain process of the user: it serves until idle.
import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { dataRoot, stateRoot } from './context.js';
import { writeErr } from './output.js';

export function registerSystem(program: Command): void {
  const system = program.command('system').description('the Docker-compatible API service');
  system
    .command('service')
    .description('serve the Docker Engine API on a unix socket (DOCKER_HOST=unix://… for the docker CLI, testcontainers, compose)')
    .option('-t, --time <seconds>', 'exit after this many idle seconds (0: never)', '5')
    .argument('[uri]', 'unix:///PATH (default unix://$XDG_RUNTIME_DIR/nsbox/nsbox.sock)')
    .action(async (uri: string | undefined, opts: { time: string }, cmd: Command) => {
      const idleSeconds = Number(opts.time);
      if (!Number.isInteger(idleSeconds) || idleSeconds < 0) throw new NsboxError('INVALID_ARGUMENT', `--time ${JSON.stringify(opts.time)} is not a number of seconds`, 'give --time 0 (never exit) or a positive whole number');
      const { serveDockerApi } = await import('../api/docker-service.js');
      const { closed } = await serveDockerApi({
        ...(uri !== undefined ? { uri } : {}),
        idleSeconds,
        root: stateRoot(cmd),
        dataRoot: dataRoot(cmd),
        onListening: (where) => writeErr(`nsbox: serving the Docker API on ${where}${idleSeconds ? ` (exits after ${idleSeconds} s idle)` : ''}\n`),
      });
      const stop = () => process.exit(0);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await closed;
      stop(); // the watches of running containers hold no work of the service's
    });
  system.exitOverride();
  for (const c of system.commands) c.exitOverride();
}
