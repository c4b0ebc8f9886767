// Our stdio to an attachment (nsbox attach, run -i/-t in a detached pod):
// output to our stdout/stderr, our stdin to it (raw mode on a terminal,
// watching for the detach keys), our window size to its terminal. Resolves
// with its exit code, or null once detached.
import { NsboxError } from '../errors.js';
import { DEFAULT_DETACH_KEYS, DetachWatcher, parseDetachKeys, type Attachment } from '../api/attach-keeper.js';

export function detachKeysOf(spec: string = DEFAULT_DETACH_KEYS): number[] {
  const keys = parseDetachKeys(spec);
  if (!keys) throw new NsboxError('INVALID_ARGUMENT', `invalid --detach-keys ${JSON.stringify(spec)}`, 'give keys as docker does, e.g. ctrl-p,ctrl-q or ctrl-a,d ("" turns detaching off)');
  return keys;
}

export async function relayAttachment(a: Attachment, opts: { stdin: boolean; detachKeys: number[] }): Promise<number | null> {
  const stdin = process.stdin;
  const rawMode = opts.stdin && a.tty && stdin.isTTY;
  const resize = () => a.resize(process.stdout.columns ?? 80, process.stdout.rows ?? 24);
  if (a.tty) {
    a.output.pipe(process.stdout, { end: false });
    if (process.stdout.isTTY) (resize(), process.on('SIGWINCH', resize));
  } else {
    a.stdout.pipe(process.stdout, { end: false });
    a.stderr.pipe(process.stderr, { end: false });
  }
  let detached!: () => void;
  const detach = new Promise<null>((resolve) => (detached = () => resolve(null)));
  // Detach keys on a terminal only, as docker: piped input passes as it is.
  const watcher = new DetachWatcher(stdin.isTTY ? opts.detachKeys : []);
  const onInput = (d: Buffer) => {
    const { pass, detach: now } = watcher.feed(d);
    if (pass.length) a.stdin!.write(pass);
    if (now) detached();
  };
  const onEnd = () => a.stdin!.end();
  if (opts.stdin && a.stdin) {
    if (rawMode) stdin.setRawMode(true);
    stdin.on('data', onInput);
    stdin.once('end', onEnd);
    stdin.resume();
  }
  try {
    const code = await Promise.race([a.exited, detach]);
    if (code === null) a.close();
    else {
      const { finished } = await import('node:stream/promises');
      await Promise.all((a.tty ? [a.output] : [a.stdout, a.stderr]).map((s) => finished(s).catch(() => {})));
    }
    // What it wrote last is on our stdout before we exit.
    await new Promise<void>((r) => process.stdout.write('', () => r()));
    return code;
  } finally {
    if (rawMode) stdin.setRawMode(false);
    stdin.off('data', onInput);
    stdin.off('end', onEnd);
    stdin.pause();
    stdin.destroy();
    process.off('SIGWINCH', resize);
  }
}
