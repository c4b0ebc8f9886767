// docker's detach keys: a sequence typed on an attached terminal that
// detaches from the container instead of reaching it ("ctrl-p,ctrl-q" by
// default; "ctrl-X" or one character per item; "" turns it off). Pure: the
// CLI feeds it what it reads.

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** The bytes of a detach-keys spec, or null when it is not one. */
export function parseDetachKeys(spec: string): number[] | null {
  if (spec === '') return [];
  const keys: number[] = [];
  for (const item of spec.split(',')) {
    const ctrl = /^ctrl-([a-z@[\\\]^_])$/i.exec(item);
    if (ctrl) keys.push(ctrl[1]!.toUpperCase().charCodeAt(0) - 64);
    else if (item.length === 1 && item.charCodeAt(0) < 128) keys.push(item.charCodeAt(0));
    else return null;
  }
  return keys;
}

/**
 * Watches input for the sequence: bytes that may start it are held back
 * until it is clear whether they do (then they pass on after all).
 */
export class DetachWatcher {
  private held = 0;
  constructor(private readonly keys: number[]) {}

  /** What to pass on to the container, and whether the sequence was typed (the rest is dropped). */
  feed(chunk: Buffer): { pass: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { pass: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { pass: Buffer.from(out), detach: true };
        continue;
      }
      out.push(...this.keys.slice(0, this.held));
      this.held = 0;
      if (b === this.keys[0]) this.held = 1;
      else out.push(b);
    }
    return { pass: Buffer.from(out), detach: false };
  }
}
