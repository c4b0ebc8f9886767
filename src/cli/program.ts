// The command tree of the CLI. A call builds only its own verb's commands
// (commander's set-up of all ~80 commands costs ~4 ms of every call); help,
// a group without its subcommand and an unknown verb get all of them, so
// listings and "Did you mean" suggestions stay whole. test/cli-program.test.ts
// checks that each register function defines the verbs this table gives it.
import { Command, Option } from 'commander';
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
import { registerKube } from './kube.js';

type Register = (parent: Command) => void;

/** Top-level verbs (with their aliases) and the function that defines them. */
export const TOP_VERBS: [string[], Register][] = [
  [['run'], registerRun],
  [['port'], registerPort],
  [['exec'], registerExec],
  [['ps'], registerPs],
  [['logs'], registerLogs],
  [['start', 'stop', 'restart', 'exists', 'kill', 'rm', 'wait', 'healthcheck'], registerContainerVerbs],
  [['check'], registerCheck],
  [['image'], registerImage],
  [['pull'], registerPull],
  [['push'], registerPush],
  [['login', 'logout'], registerLogin],
  [['inspect'], registerInspect],
  [['volume'], registerVolume],
  [['cp'], registerCp],
  [['top', 'stats'], registerTop],
  [['system'], registerSystem],
  [['network'], registerNetwork],
  [['attach'], registerAttach],
  [['kube'], registerKube],
];

/** `pod` subcommands (with their aliases) and the function that defines them. */
export const POD_VERBS: [string[], Register][] = [
  [['create'], registerPodCreate],
  [['ls', 'ps', 'list'], registerPodLs],
  [['inspect'], registerPodInspect],
  [['exists'], registerPodExists],
  [['stop'], registerPodStop],
  [['start', 'restart'], registerPodStart],
  [['rm', 'remove'], registerPodRm],
  [['logs'], registerPodLogs],
];

/** The first two words of the arguments that are not options (nor --root's value): the verb. */
function verbWords(args: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < args.length && words.length < 2; i++) {
    if (args[i] === '--root') i++;
    else if (!args[i]!.startsWith('-')) words.push(args[i]!);
  }
  return words;
}

/** The entries that define `word`, or all of them when none does (or no word is given). */
const chosen = (table: [string[], Register][], word: string | undefined) => {
  const one = table.find(([names]) => word !== undefined && names.includes(word));
  return one ? [one] : table;
};

/** The program for these arguments (argv without node and the script), or with `all` every command. */
export function buildProgram(args: string[], all = false): Command {
  const program = new Command('nsbox')
    .description('rootless pods for Linux: no daemon, no root')
    .version('0.1.0')
    .option('--root <dir>', 'state directory (default $XDG_RUNTIME_DIR/nsbox; env NSBOX_ROOT)')
    .option('--debug', 'print the plans handed to the shim, and stack traces on errors')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`nsbox: ${str.replace(/^error: /, '').trimEnd()}\n`) });
  const [first, second] = all ? [] : verbWords(args);
  const podCommand = () => program.command('pod').description('manage pods');
  if (first === 'pod') {
    const pod = podCommand();
    for (const [, register] of chosen(POD_VERBS, second)) register(pod);
  } else {
    const top = chosen(TOP_VERBS, first);
    if (top.length > 1) {
      // Every verb: `pod` first, as help lists it.
      const pod = podCommand();
      for (const [, register] of POD_VERBS) register(pod);
    }
    for (const [, register] of top) register(program);
  }
  const everyCommand = (c: Command): Command[] => [c, ...c.commands.flatMap(everyCommand)];
  for (const c of everyCommand(program)) c.exitOverride();
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

