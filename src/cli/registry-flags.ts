// Flags the registry verbs share, spelled as podman spells them.
import { NsboxError } from '../errors.js';

/** --tls-verify=true|false (podman's spelling); undefined means the default (verify). */
export function parseTlsVerify(v: string | boolean | undefined): boolean | undefined {
  if (v === undefined || v === true || v === 'true') return undefined;
  if (v === false || v === 'false') return false;
  throw new NsboxError('INVALID_ARGUMENT', `--tls-verify=${v} is not true or false`, 'use --tls-verify=false for a registry without a trusted certificate, or plain HTTP');
}
