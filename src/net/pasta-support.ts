// Can this machine use `--network pasta`? pasta (Debian package passt) opens
// /dev/net/tun from inside the pod's user namespace, where the device's
// file mode still applies: a 0600 root-owned tun works for root only.
import { closeSync, constants, openSync } from 'node:fs';
import { findExecutable } from '../idmap/mapping.js';

export const TUN_DEVICE = '/dev/net/tun';

export type PastaSupport = { ok: true; pasta: string } | { ok: false; problem: string; fix: string };

export function pastaSupport(searchPath = process.env.PATH ?? '', tun = TUN_DEVICE): PastaSupport {
  const pasta = findExecutable('pasta', searchPath);
  if (!pasta) return { ok: false, problem: 'pasta is not installed', fix: 'sudo apt-get install passt' };
  try {
    closeSync(openSync(tun, constants.O_RDWR));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' || code === 'ENXIO' || code === 'ENODEV')
      return { ok: false, problem: `${tun} is missing (${code})`, fix: 'sudo modprobe tun' };
    return { ok: false, problem: `${tun} is not usable by uid ${process.geteuid?.()} (${code})`, fix: `sudo chmod 0666 ${tun} (the usual mode on Debian), or use --network builtin` };
  }
  return { ok: true, pasta };
}
