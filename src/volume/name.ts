// What a volume may be called: the names pods and containers take.
import { NsboxError } from '../errors.js';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '../pod/record.js';

export function isVolumeName(name: string): boolean {
  return NAME_PATTERN.test(name) && name.length <= MAX_NAME_LENGTH;
}

export function validateVolumeName(name: string): void {
  if (!isVolumeName(name))
    throw new NsboxError('INVALID_NAME', `invalid volume name ${JSON.stringify(name)}`, `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most ${MAX_NAME_LENGTH} characters`);
}
