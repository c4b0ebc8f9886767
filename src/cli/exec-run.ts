// `nsbox exec`: the library starts the command (api/exec.ts); this relays
// our stdio, our terminal and the signals we get to it, and exits with its
// code.
import { NsboxError } from '../errors.js';
import { ExecFailure, openExec, type ExecSession, type ExecTerminal } from '../api/exec.js';
import { parseEnvOption } from './parse.js';
import type { ExecCliOptions } from './exec.js';
import { writeErr } from './output.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Signals a user or a CI runner sends us go on to the command. */
function forwardSignals(session: ExecSession): () => void {
  const handlers = FORWARDED.map((sig) => [sig, () => session.signal(sig)] as const);
  for (const [sig, h] of handlers) process.on(sig, h);
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/** Our terminal to the command's: raw mode, input, output and size changes (exec -t, run -t). */
export function relayTerminal(terminal: ExecTerminal, interactive: boolean): () => void {
  const stdin = process.stdin;
  const rawMode = interactive && stdin.isTTY;
  const resize = () => terminal.resize(process.stdout.rows ?? 24, process.stdout.columns ?? 80);
  const onInput = (d: Buffer) => terminal.write(d);
  void terminal.pump((data, next) => process.stdout.write(data, () => next()));
  if (rawMode) stdin.setRawMode(true);
  if (interactive) {
    stdin.on('data', onInput);
    stdin.resume();
  }
  process.on('SIGWINCH', resize);
  return () => {
    if (rawMode) stdin.setRawMode(false);
    if (interactive) {
      stdin.off('data', onInput);
      stdin.pause();
    }
    process.off('SIGWINCH', resize);
  };
}

/** Our stdio to the command's pipes. */
function relayPipes(session: ExecSession, interactive: boolean): () => void {
  session.stdout!.pipe(process.stdout, { end: false });
  session.stderr!.pipe(process.stderr, { end: false });
  if (session.stdin) process.stdin.pipe(session.stdin);
  return () => {
    if (session.stdin) process.stdin.unpipe();
    if (interactive) process.stdin.destroy();
  };
}

export async function runExec(podRef: string, rawCommand: string[], opts: ExecCliOptions, root: string, dataRootDir: string): Promise<void> {
  const command = rawCommand[0] === '--' ? rawCommand.slice(1) : rawCommand;
  if (command.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command after the pod', 'nsbox exec POD -- CMD [ARGS...]');
  const { readEnvFiles } = await import('./env-file.js');
  const env = [...(opts.tty ? [`TERM=${process.env.TERM ?? 'xterm'}`] : []), ...readEnvFiles(opts.envFile ?? []), ...parseEnvOption(opts.env)];
  let session: ExecSession;
  try {
    session = await openExec({
      root,
      pod: podRef,
      join: opts.join,
      argv: command,
      env,
      workdir: opts.workdir,
      stdin: !!opts.interactive,
      user: opts.user,
      dataRoot: dataRootDir,
      tty: opts.tty ? { rows: process.stdout.rows ?? 24, cols: process.stdout.columns ?? 80 } : null,
      detach: !!opts.detach,
      // A CLI call is short: the helper process spawns it, and this one loads no FFI addon.
      viaHelper: true,
    });
  } catch (err) {
    if (err instanceof ExecFailure) {
      writeErr(`nsbox: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
  if (opts.detach) return; // it runs on; the pod's PID 1 or the host's init reaps it
  const stopRelay = session.terminal ? relayTerminal(session.terminal, !!opts.interactive) : relayPipes(session, !!opts.interactive);
  const stopForwarding = forwardSignals(session);
  const code = await session.wait();
  stopForwarding();
  stopRelay();
  process.exitCode = code;
}
