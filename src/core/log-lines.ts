// Lines out of a container's log, whose entries are chunks as its pipes gave
// them (a line may span several, or one entry hold several lines): what a
// wait for a log message counts, and what an error quotes.

/** Whole lines from chunks of one stream; the rest waits for its newline (or flush). */
export class LineSplitter {
  private rest = '';

  push(text: string): string[] {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop()!;
    return parts;
  }

  /** The unfinished last line, once no more text comes. */
  flush(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}

/** testcontainers' rule: a string is found anywhere in the line, a RegExp is tested on it. */
export function lineMatches(pattern: string | RegExp, line: string): boolean {
  if (typeof pattern === 'string') return line.includes(pattern);
  pattern.lastIndex = 0; // a global or sticky RegExp would carry its position from the last line
  return pattern.test(line);
}
