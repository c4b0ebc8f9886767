// Verbs that take several POD/NAME references act on each, as podman does:
// a failure is one line on stderr and the others still go on. The exit code
// is 1 when the only failures are references that do not exist, 125 for
// any other failure.
import { NsboxError } from '../errors.js';
import { writeErr } from './output.js';

const MISSING = new Set(['NO_SUCH_CONTAINER', 'NO_SUCH_POD', 'NO_SUCH_VOLUME', 'NO_SUCH_NETWORK']);

export async function forEachRef(refs: string[], act: (ref: string) => Promise<void>): Promise<void> {
  let missing = false;
  let failed = false;
  for (const ref of refs) {
    try {
      await act(ref);
    } catch (err) {
      if (!(err instanceof NsboxError)) throw err;
      writeErr(`nsbox: ${err.oneLine()}\n`);
      if (MISSING.has(err.code)) missing = true;
      else failed = true;
    }
  }
  if (failed) process.exitCode = 125;
  else if (missing) process.exitCode = 1;
}
