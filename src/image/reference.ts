// Image names: NAME[:TAG] as Docker spells them (lowercase path components,
// an optional registry host first, a tag of letters, digits, `_`, `.`, `-`).
// A name without a tag means NAME:latest. Digests (NAME@sha256:...) are not
// names here: images are addressed by id instead.
import { NsboxError } from '../errors.js';

export const DEFAULT_TAG = 'latest';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN = /^(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageName {
  repository: string;
  tag: string;
}

function invalid(name: string, why: string): NsboxError {
  return new NsboxError('INVALID_IMAGE_NAME', `invalid image name ${JSON.stringify(name)}: ${why}`, 'use NAME[:TAG], e.g. nginx:1.25 or example.com/team/app:latest');
}

/** Parses and validates NAME[:TAG]; throws a one-line NsboxError. */
export function parseImageName(name: string): ImageName {
  if (name.length === 0) throw invalid(name, 'it is empty');
  if (name.length > 255) throw invalid(name, 'it is longer than 255 characters');
  if (name.includes('@')) throw invalid(name, 'digest references are not names (address the image by id)');
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const hasTag = colon > slash;
  const repository = hasTag ? name.slice(0, colon) : name;
  const tag = hasTag ? name.slice(colon + 1) : DEFAULT_TAG;
  if (!TAG.test(tag)) throw invalid(name, `bad tag ${JSON.stringify(tag)}`);
  const parts = repository.split('/');
  // The first part is a registry host when it looks like one (a dot, a port, localhost).
  const first = parts[0]!;
  const isDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (isDomain && !DOMAIN.test(first)) throw invalid(name, `bad registry host ${JSON.stringify(first)}`);
  for (const part of isDomain ? parts.slice(1) : parts) {
    if (!COMPONENT.test(part)) throw invalid(name, part === '' ? 'empty path component' : `bad component ${JSON.stringify(part)} (lowercase letters, digits and separators . _ - only)`);
  }
  return { repository, tag };
}

/** NAME[:TAG] in the form records keep: NAME:TAG. */
export function normalizeImageName(name: string): string {
  const n = parseImageName(name);
  return `${n.repository}:${n.tag}`;
}

/** Like normalizeImageName, but null for anything that is not a valid name. */
export function tryNormalizeImageName(name: string): string | null {
  try {
    return normalizeImageName(name);
  } catch {
    return null;
  }
}

/** Splits a stored NAME:TAG for display (REPOSITORY, TAG). */
export function splitImageName(name: string): ImageName {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? { repository: name.slice(0, colon), tag: name.slice(colon + 1) } : { repository: name, tag: DEFAULT_TAG };
}
