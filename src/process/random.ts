// Random hex ids from /dev/urandom: fs is loaded anyway, node:crypto would
// add ~3 ms to every CLI start.
import { closeSync, openSync, readSync } from 'node:fs';

export function randomHex(bytes: number): string {
  const buf = Buffer.alloc(bytes);
  const fd = openSync('/dev/urandom', 'r');
  try {
    let got = 0;
    while (got < bytes) got += readSync(fd, buf, got, bytes - got, null);
  } finally {
    closeSync(fd);
  }
  return buf.toString('hex');
}
