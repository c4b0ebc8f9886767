#!/usr/bin/env node
// nsbox's command line: parse, call the library, print. Errors become one
// line on stderr and exit code 125 (as podman); --debug adds the stack.
import { Command, CommanderError, Option } from 'commander';
import { NsboxError } from '../errors.js';
import { registerCheck } from './check.js';
import { registerExec } from './exec.js';
import { registerPodCreate } from './pod-create.js';
import { registerPodExists, registerPodInspect } from './pod-inspect.js';
import { registerPodLs } from './pod-ls.js';
import { registerPodRm } from './pod-rm.js';
import { registerPodStop } from './pod-stop.js';
import { registerPodStart } from './pod-start.js';
import { registerPs } from './ps.js';
import { registerLogs, registerPodLogs } from './logs.js';
import { registerContainerVerbs } from './container-verbs.js';
import { registerRun } from './run.js';
import { registerPort } from './port.js';
import { registerImage } from './image.js';
import { registerInspect } from './inspect.js';
import { registerPull, registerPush } from './pull.js';
import { registerLogin } from './login.js';
import { registerVolume } from './volume.js';
import { registerCp } from './cp.js';
import { registerTop } from './top.js';
import { registerSystem } from './system.js';
import { registerNetwork } from './network.js';
import { registerAttach } from './attach.js';

const EXIT_NSBOX_ERROR = 125;

function buildProgram(): Command {
  const program = new Command('nsbox')
    .description('rootless pods for Linux: no daemon, no root')
    .version('0.1.0')
    .option('--root <dir>', 'state directory (default $XDG_RUNTIME_DIR/nsbox; env NSBOX_ROOT)')
    .option('--debug', 'print the plans handed to the shim, and stack traces on errors')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`nsbox: ${str.replace(/^error: /, '').trimEnd()}\n`) });
  const pod = program.command('pod').description('manage pods');
  registerPodCreate(pod);
  registerPodLs(pod);
  registerPodInspect(pod);
  registerPodExists(pod);
  registerPodStop(pod);
  registerPodStart(pod);
  registerPodRm(pod);
  registerPodLogs(pod);
  registerRun(program);
  registerPort(program);
  registerExec(program);
  registerPs(program);
  registerLogs(program);
  registerContainerVerbs(program);
  registerCheck(program);
  registerImage(program);
  registerPull(program);
  registerPush(program);
  registerLogin(program);
  registerInspect(program);
  registerVolume(program);
  registerCp(program);
  registerTop(program);
  registerSystem(program);
  registerNetwork(program);
  registerAttach(program);
  for (const c of [program, pod, ...program.commands, ...pod.commands]) c.exitOverride();
  acceptGlobalsAfterVerbs(program);
  return program;
}

/** `nsbox pod ls --root DIR` as well as `nsbox --root DIR pod ls` (podman takes both). */
function acceptGlobalsAfterVerbs(parent: Command): void {
  for (const c of parent.commands) {
    c.addOption(new Option('--root <dir>').hideHelp());
    c.addOption(new Option('--debug').hideHelp());
    acceptGlobalsAfterVerbs(c);
  }
}

/** `nsbox help pod create` is `nsbox pod create --help`. */
function helpFor(argv: string[]): string[] {
  const [node, script, first, ...rest] = argv;
  return first === 'help' && rest.length ? [node!, script!, ...rest, '--help'] : argv;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // --debug (nsbox's own, not one in a command's arguments) also prints every plan handed to the shim (native/spawn.ts).
  let debug = false;
  program.hook('preAction', (_parent, action) => {
    debug = !!action.optsWithGlobals<{ debug?: boolean }>().debug;
    if (debug) process.env.NSBOX_DEBUG = '1';
  });
  try {
    await program.parseAsync(helpFor(argv));
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_NSBOX_ERROR;
      return;
    }
    if (err instanceof NsboxError) process.stderr.write(`nsbox: ${err.oneLine()}\n`);
    else process.stderr.write(`nsbox: ${err instanceof Error ? err.message : String(err)}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = EXIT_NSBOX_ERROR;
  }
}

void main(process.argv);
