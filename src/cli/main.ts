// nsbox's command line: parse, call the library, print. Errors become one
// line on stderr and exit code 125 (as podman); --debug adds the stack.
import { CommanderError } from 'commander';
import { NsboxError } from '../errors.js';
import { buildProgram } from './program.js';
import { writeErr } from './output.js';

const EXIT_NSBOX_ERROR = 125;

/** `nsbox help pod create` is `nsbox pod create --help`. */
function helpFor(argv: string[]): string[] {
  const [node, script, first, ...rest] = argv;
  return first === 'help' && rest.length ? [node!, script!, ...rest, '--help'] : argv;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram(helpFor(argv).slice(2));
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
    if (err instanceof NsboxError) writeErr(`nsbox: ${err.oneLine()}\n`);
    else writeErr(`nsbox: ${err instanceof Error ? err.message : String(err)}\n`);
    if (debug && err instanceof Error) writeErr(`${err.stack}\n`);
    process.exitCode = EXIT_NSBOX_ERROR;
  }
}

void main(process.argv);
