import type { Command } from 'commander';
import { NsboxError } from '../errors.js';
import { collect, parseEnvOption } from './parse.js';
import { dataRoot, stateRoot } from './context.js';
import { writeErr, writeOut } from './output.js';

interface RunCliOptions {
  pod?: string;
  name?: string;
  detach?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  restart?: string;
  readOnly?: boolean;
  entrypoint?: string;
  capAdd: string[];
  capDrop: string[];
  stopSignal?: string;
  logOpt: string[];
  volume: string[];
  mount: string[];
  interactive?: boolean;
  tty?: boolean;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthRetries?: number;
  healthOnFailure?: string;
  healthcheck?: boolean;
  tmpfs: string[];
  publish: string[];
  network?: string;
  networkAlias: string[];
  addHost: string[];
  rm?: boolean;
  label: string[];
  replace?: boolean;
  securityOpt: string[];
  pull: string;
  tlsVerify: string;
  platform?: string;
  certDir?: string;
}

/** --log-opt KEY=VALUE as docker takes them; max-size is the one nsbox has. */
function logOptions(opts: string[]): { logMaxSize?: string } {
  const out: { logMaxSize?: string } = {};
  for (const o of opts) {
    const [key, value] = [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)];
    if (key === 'max-size' && value) out.logMaxSize = value;
    else throw new NsboxError('INVALID_ARGUMENT', `unknown log option ${JSON.stringify(o)}`, 'use --log-opt max-size=SIZE, e.g. max-size=10m');
  }
  return out;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a container in a pod, from an image or a rootfs tarball')
    .option('--pod <pod>', 'the pod to run in (default: a pod of its own, named after the container, removed with it)')
    .option('-p, --publish <[IP:]HOST:CTR>', 'publish a port of its own pod (without --pod; repeatable)', collect, [])
    .option('--network <mode|name>', 'network of its own pod (without --pod): builtin, pasta, none, or a user network (nsbox network create)')
    .option('--network-alias <alias>', 'another name of it on that user network (repeatable)', collect, [])
    .option('--add-host <name:ip>', "an entry of its /etc/hosts, for a pod of its own (repeatable)", collect, [])
    .option('--rm', 'remove the container (and its own pod) once it has exited')
    .option('--label <KEY=VALUE>', 'set a label on the container (repeatable)', collect, [])
    .option('--replace', 'remove a container of the same name first (and its own pod)')
    .option('--name <name>', 'container name, unique in the pod (default: generated)')
    .option('-d, --detach', 'run in the background and print POD/NAME')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('--env-file <file>', 'read KEY=VALUE lines from a file (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'user to run as')
    .option('--restart <policy>', 'no, always, or on-failure[:N]', 'no')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('--entrypoint <cmd>', "replace the image's entrypoint")
    .option('--cap-add <cap>', 'add a capability to the default set, or ALL (repeatable)', collect, [])
    .option('--cap-drop <cap>', 'drop a capability from the default set, or ALL (repeatable)', collect, [])
    .option('--security-opt <opt>', 'seccomp=unconfined|PROFILE.json, no-new-privileges, mask=PATHS, unmask=ALL|PATHS (repeatable)', collect, [])
    .option('--stop-signal <signal>', "what stop sends before SIGKILL (default: the image's StopSignal, else TERM)")
    .option('--log-opt <opt>', 'log option, as docker: max-size=SIZE rotates the log (repeatable)', collect, [])
    .option('-v, --volume <HOST|NAME:CTR[:ro]>', 'share a host file or directory (HOST absolute or ./relative), or a named volume, made if missing (repeatable)', collect, [])
    .option('--mount <type=…,src=…,dst=…>', "docker's long form: type=bind|volume|tmpfs, source, target, readonly (repeatable)", collect, [])
    .option('-i, --interactive', "keep stdin attached (the container reads what this process reads)")
    .option('-t, --tty', 'give the container a terminal of its own, relayed to this one (raw mode with -i)')
    .option('--tmpfs <CTR[:OPTS]>', 'mount a fresh tmpfs (size=…, mode=…; repeatable)', collect, [])
    .option('--pull <policy>', 'missing: pull IMAGE from its registry when it is not in the store; always; never', 'missing')
    .option('--tls-verify <bool>', 'for the pull: verify TLS certificates; false also allows plain HTTP', 'true')
    .option('--platform <os/arch>', 'for the pull: the platform to choose from a multi-platform image')
    .option('--cert-dir <dir>', 'for the pull: trust the CA certificates (*.crt) in DIR for this registry')
    .option('--health-cmd <command>', 'a health check run in the container (a shell command; "none" turns the image\'s off)')
    .option('--health-interval <duration>', 'time between checks (default 30s)')
    .option('--health-timeout <duration>', 'a check taking longer fails (default 30s)')
    .option('--health-start-period <duration>', 'failures during this time after a start do not count (default 0s)')
    .option('--health-retries <n>', 'failures in a row that make it unhealthy (default 3)', (v: string) => Number(v))
    .option('--health-on-failure <action>', 'when it turns unhealthy: none (default), kill, restart or stop')
    .option('--no-healthcheck', "no health check, not even the image's")
    .argument('<image>', 'image name, id, or a path to a rootfs tarball or image archive')
    .argument('[command...]', 'command and arguments (replace the image Cmd)')
    .passThroughOptions()
    .action(async (imageRef: string, command: string[], opts: RunCliOptions, cmd: Command) => {
      const { readEnvFiles } = await import('./env-file.js');
      const { runContainer } = await import('../api/run.js');
      const argv = command[0] === '--' ? command.slice(1) : command;
      const env = [...readEnvFiles(opts.envFile), ...parseEnvOption(opts.env)];
      const options = {
        name: opts.name,
        command: argv,
        entrypoint: opts.entrypoint !== undefined ? [opts.entrypoint] : undefined,
        env,
        workdir: opts.workdir,
        user: opts.user,
        restart: opts.restart,
        readOnly: opts.readOnly,
        capAdd: opts.capAdd,
        capDrop: opts.capDrop,
        stopSignal: opts.stopSignal,
        volumes: opts.volume,
        mounts: opts.mount,
        healthCmd: opts.healthCmd,
        healthInterval: opts.healthInterval,
        healthTimeout: opts.healthTimeout,
        healthStartPeriod: opts.healthStartPeriod,
        healthRetries: opts.healthRetries,
        healthOnFailure: opts.healthOnFailure,
        noHealthcheck: opts.healthcheck === false,
        tmpfs: opts.tmpfs,
        // An attached run removes it itself once it has read everything (its pod is this process's).
        remove: !!opts.rm && !opts.interactive && !opts.tty,
        labels: opts.label,
        securityOpt: opts.securityOpt,
        ...logOptions(opts.logOpt),
      };
      if (opts.tty && !options.env.some((e) => e.startsWith('TERM='))) options.env.unshift(`TERM=${process.env.TERM ?? 'xterm'}`);
      // -i/-t with -d or --pod: the pod's keeper holds its stdin or terminal; we attach (before it starts, in the foreground).
      const keeperAttach = (opts.interactive || opts.tty) && (opts.detach || opts.pod !== undefined);
      if (keeperAttach) Object.assign(options, { openStdin: !!opts.interactive, tty: !!opts.tty, stdinOnce: !!opts.interactive && !opts.detach, remove: !!opts.rm && !!opts.detach });
      // The terminal starts at this one's size: a program that reads its size at once sees ours.
      if (keeperAttach && opts.tty && process.stdout.isTTY) Object.assign(options, { ttySize: { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 } });
      const { openAttach } = (opts.interactive || opts.tty) && !keeperAttach ? await import('../api/attach.js') : { openAttach: null };
      const ends = openAttach ? openAttach({ stdin: !!opts.interactive, tty: opts.tty ? { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 } : null }) : null;
      // Foreground: a signal to us (Ctrl-C, kill) is for the container, as with podman run.
      const signals = opts.detach ? null : forwardSignals();
      let stopRelay: (() => void) | null = null;
      try {
        const { parseTlsVerify } = await import('./registry-flags.js');
        const pull = { policy: opts.pull, tlsVerify: parseTlsVerify(opts.tlsVerify), platform: opts.platform, ...(opts.certDir !== undefined ? { certDir: opts.certDir } : {}) };
        const createOnly = keeperAttach && !opts.detach;
        const { record, container: c } = await runContainer({ root: stateRoot(cmd), dataRoot: dataRoot(cmd), pod: opts.pod, publish: opts.publish, network: opts.network, networkAliases: opts.networkAlias, addHosts: opts.addHost, replace: !!opts.replace, image: imageRef, options, ...(ends ? { attach: ends.attach } : {}), createOnly, pull, onProgress: (line) => writeErr(line + '\n') });
        // A container in a pod of its own is called by its name alone.
        const ref = opts.pod === undefined ? record.name : `${record.podName}/${record.name}`;
        if (!signals) {
          if (record.state === 'exited' && record.error) {
            if (opts.rm) await c.remove({ force: true, volumes: true });
            throw new NsboxError('EXEC_FAILED', record.error);
          }
          return void writeOut(ref + '\n');
        }
        if (createOnly) {
          // docker run -i/-t: attach, then start, then relay until it exits.
          const { relayAttachment, detachKeysOf } = await import('./attach-relay.js');
          const a = await c.attach({ stdin: !!opts.interactive });
          // Its terminal starts with our size (the keeper applies it as it starts).
          if (opts.tty && process.stdout.isTTY) await c.resize(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
          const started = await c.start();
          if (started.state === 'exited' && started.error) {
            a.close();
            if (opts.rm) await c.remove({ force: true, volumes: true });
            throw new NsboxError('EXEC_FAILED', started.error);
          }
          signals.deliverTo(c);
          const code = await relayAttachment(a, { stdin: !!opts.interactive, detachKeys: detachKeysOf() });
          // Detached (the keys): it goes on running, as with docker.
          if (code === null) return;
          process.exitCode = code;
          if (opts.rm) await c.remove({ force: true, volumes: true });
          return;
        }
        signals.deliverTo(c);
        const opened = ends?.opened();
        if (opened?.terminal) {
          // -t: its output is on its terminal (not in the log), relayed as exec -t does.
          const { relayTerminal } = await import('./exec-run.js');
          stopRelay = relayTerminal(opened.terminal, !!opts.interactive);
          process.exitCode = await c.wait();
          await opened.terminal.close();
        } else {
          if (opened?.stdin) {
            const input = opened.stdin;
            process.stdin.pipe(input);
            stopRelay = () => (process.stdin.unpipe(input), process.stdin.destroy(), input.destroy());
          }
          // Foreground: stream the output and exit with the container's code.
          const { followLogs } = await import('./follow-logs.js');
          await followLogs(c, { follow: true });
          process.exitCode = await c.wait();
        }
        // An attached run's pod lives in this process, so it cannot outlive it: it goes now, as with --rm.
        if (opts.rm || ends) await c.remove({ force: true, volumes: !!opts.rm });
      } finally {
        stopRelay?.();
        ends?.close();
        signals?.stop();
      }
    });
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/**
 * Catches the signals a foreground run passes on; those that arrive before
 * the container runs are passed on once it does.
 */
function forwardSignals(): { deliverTo(c: { kill(signal: string): void }): void; stop(): void } {
  let target: { kill(signal: string): void } | null = null;
  const pending: string[] = [];
  const send = (sig: string) => {
    try {
      target!.kill(sig);
    } catch {
      // it has exited meanwhile: its exit code is what we report
    }
  };
  const handlers = FORWARDED_SIGNALS.map((sig) => [sig, () => (target ? send(sig) : pending.push(sig))] as const);
  for (const [sig, handler] of handlers) process.on(sig, handler);
  return {
    deliverTo(c) {
      target = c;
      for (const sig of pending.splice(0)) send(sig);
    },
    stop() {
      for (const [sig, handler] of handlers) process.off(sig, handler);
    },
  };
}
