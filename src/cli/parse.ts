// Parsing of option values; errors name the option and the fix.
import { NsboxError } from '../errors.js';

export function parseSeconds(value: string, flag: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new NsboxError('INVALID_ARGUMENT', `invalid value for ${flag}: ${JSON.stringify(value)}`, 'give a whole number of seconds');
  return n;
}

/** -e KEY=VALUE, or -e KEY to take the value from this environment (as docker does). */
export function parseEnvOption(values: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (!/^[^=\0]+$/.test(key)) throw new NsboxError('INVALID_ARGUMENT', `invalid environment variable ${JSON.stringify(v)}`, 'use -e KEY=VALUE');
    return eq < 0 ? `${key}=${env[key] ?? ''}` : v;
  });
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
