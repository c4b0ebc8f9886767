// `image import --change` (podman's and docker's import flag): Dockerfile
// instructions that set the config of an image made from a rootfs tarball,
// which has none of its own. Each is "INSTRUCTION VALUE" or
// "INSTRUCTION=VALUE", as podman takes them.
import { NsboxError } from '../errors.js';

/** The Docker config fields the changes set (the "config" object of an image config). */
export interface ConfigChanges {
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  ExposedPorts?: Record<string, Record<string, never>>;
  Labels?: Record<string, string>;
  StopSignal?: string;
  User?: string;
  WorkingDir?: string;
}

const SUPPORTED = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'STOPSIGNAL', 'USER', 'WORKDIR'];

function refuse(change: string, why: string, hint = `use one of ${SUPPORTED.join(', ')}, e.g. --change 'CMD ["nginx", "-g", "daemon off;"]'`): NsboxError {
  return new NsboxError('INVALID_CHANGE', `--change ${JSON.stringify(change)}: ${why}`, hint);
}

/** A JSON array of strings (exec form), or the shell form: run by /bin/sh -c. */
function command(change: string, value: string): string[] {
  if (!value.startsWith('[')) return ['/bin/sh', '-c', value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw refuse(change, 'the exec form is not a JSON array', 'write it as JSON with double quotes: CMD ["nginx", "-g", "daemon off;"]');
  }
  if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) throw refuse(change, 'the exec form must be an array of strings');
  return parsed as string[];
}

/** KEY=VALUE pairs (a value may be "quoted"), or the old one-pair form KEY VALUE. */
function pairs(change: string, value: string): [string, string][] {
  const eq = value.indexOf('=');
  const space = value.search(/\s/);
  if (eq < 0 || (space >= 0 && space < eq)) {
    if (space < 0) throw refuse(change, 'it needs KEY=VALUE (or KEY VALUE)');
    return [[value.slice(0, space), value.slice(space).trim()]];
  }
  const out: [string, string][] = [];
  for (const m of value.matchAll(/([^\s=]+)=("((?:[^"\\]|\\.)*)"|\S*)/g)) out.push([m[1]!, m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[2]!]);
  if (!out.length) throw refuse(change, 'it needs KEY=VALUE');
  return out;
}

export function parseChanges(changes: string[]): ConfigChanges {
  const out: ConfigChanges = {};
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+|=)([\s\S]*)$/.exec(change);
    if (!m) throw refuse(change, 'it is not INSTRUCTION VALUE');
    const instruction = m[1]!.toUpperCase();
    const value = m[2]!.trim();
    if (!SUPPORTED.includes(instruction)) throw refuse(change, `${instruction} is not an instruction import can apply`);
    if (!value) throw refuse(change, `${instruction} needs a value`);
    switch (instruction) {
      case 'CMD':
        out.Cmd = command(change, value);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = command(change, value);
        break;
      case 'ENV': {
        const env = new Map((out.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e] as const));
        for (const [k, v] of pairs(change, value)) env.set(k, `${k}=${v}`);
        out.Env = [...env.values()];
        break;
      }
      case 'LABEL':
        out.Labels = { ...out.Labels, ...Object.fromEntries(pairs(change, value)) };
        break;
      case 'EXPOSE':
        for (const p of value.split(/\s+/)) {
          if (!/^\d{1,5}(\/(tcp|udp))?$/.test(p) || Number(p.split('/')[0]) < 1 || Number(p.split('/')[0]) > 65535) throw refuse(change, `${JSON.stringify(p)} is not a port`, 'write EXPOSE 80 or EXPOSE 53/udp');
          out.ExposedPorts = { ...out.ExposedPorts, [p.includes('/') ? p : `${p}/tcp`]: {} };
        }
        break;
      case 'STOPSIGNAL':
        out.StopSignal = value;
        break;
      case 'USER':
        out.User = value;
        break;
      case 'WORKDIR':
        if (!value.startsWith('/')) throw refuse(change, 'WORKDIR must be an absolute path');
        out.WorkingDir = value;
        break;
    }
  }
  return out;
}
