// Network names: podman's rule, minus the network modes' own words.
import { NsboxError } from '../errors.js';
import { MAX_NAME_LENGTH, NAME_PATTERN } from '../pod/record.js';

export const RESERVED_NETWORK_NAMES = ['builtin', 'pasta', 'none', 'host', 'bridge', 'private', 'slirp4netns', 'container', 'ns'] as const;

export function validateNetworkName(name: string): void {
  if (!NAME_PATTERN.test(name) || name.length > MAX_NAME_LENGTH)
    throw new NsboxError('INVALID_NAME', `invalid network name ${JSON.stringify(name)}`, `use letters, digits, '_', '.' and '-', starting with a letter or digit, at most ${MAX_NAME_LENGTH} characters`);
  if ((RESERVED_NETWORK_NAMES as readonly string[]).includes(name))
    throw new NsboxError('RESERVED_NAME', `${name} is a network mode, not a name a user network may take`, 'choose another name');
}

export function validateAlias(alias: string): void {
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,62})$/.test(alias))
    throw new NsboxError('INVALID_ALIAS', `invalid network alias ${JSON.stringify(alias)}`, 'use letters, digits, dots, dashes and underscores, at most 63 characters');
}
