// One error type for everything nsbox reports. `code` is stable for scripts;
// `hint` tells the user what to do. The CLI prints `message` (and `hint`) on
// one line; stack traces only with --debug.
import { errnoName } from './core/errno.js';
import { FilterError } from './core/filters.js';

export class NsboxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'NsboxError';
  }

  /** The one-line form the CLI prints. */
  oneLine(): string {
    return this.hint ? `${this.message}: ${this.hint}` : this.message;
  }
}

/** A failed syscall or plan step: what failed, the errno, and a hint. */
export class SyscallError extends NsboxError {
  readonly errno: number;
  readonly errnoName: string;
  constructor(
    readonly step: string,
    errno: number,
    hint?: string,
    readonly path?: string,
  ) {
    const name = errnoName(errno);
    super('SYSCALL', `${step}${path ? ` ${path}` : ''}: ${name}`, hint);
    this.errno = errno;
    this.errnoName = name;
  }
}

/** Runs a pure rule of core/ that may refuse its input: its refusal becomes nsbox's one-line error. */
export function asNsboxError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FilterError) throw new NsboxError('INVALID_ARGUMENT', err.message, err.hint);
    throw err;
  }
}
