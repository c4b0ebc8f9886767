// What a volume may be called: the characters pods and containers take, but
// longer, since docker's anonymous volumes are named by 64 hex digits.
import { NsboxError } from '../errors.js';
import { NAME_PATTERN } from '../pod/record.js';

const MAX_VOLUME_NAME_LENGTH = 128;

export function isVolumeName(name: string): boolean {
  return NAME_PATTERN.test(name) && name.length <= MAX_VOLUME_NAME_LENGTH;
}

export function validateVolumeName(name: string): void {
  if (!isVolumeName(name))
    throw new NsboxError('INVALID_NAME', `invalid volume name ${JSON.stringify(name)}`, `names must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be at most ${MAX_VOLUME_NAME_LENGTH} characters`);
}
