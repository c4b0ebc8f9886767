// How the CLI recognises nsbox's own errors, also those from dist/image,
// which the bundle loads as separate modules (with their own NsboxError class).
import { NsboxError } from '../errors.js';

export function isNsboxError(err: unknown): err is NsboxError {
  return err instanceof NsboxError || (err instanceof Error && err.name === 'NsboxError' && typeof (err as NsboxError).oneLine === 'function');
}
