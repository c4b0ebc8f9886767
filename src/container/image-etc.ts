// Reads an image's /etc/passwd or /etc/group on the host, for --user NAME.
// The layers are the image's files: a symlink there must never lead the
// reader to a host file (the user's own, or /dev/zero), so nothing on the
// way is followed, only regular files are read, and at most 1 MiB.
import { closeSync, fstatSync, readSync } from 'node:fs';
import { NsboxError } from '../errors.js';
import { Errno, errnoName } from '../core/errno.js';
import { openBeneath } from '../native/ffi.js';

const MAX_BYTES = 1 << 20;

function refuse(file: string, why: string): NsboxError {
  return new NsboxError('IMAGE_FILE', `cannot read the image's /etc/${file}: ${why}`, 'use --user UID[:GID] with numbers');
}

/** The text of etc/<file> in the top layer that has it; null when no layer has it (or it was deleted). */
export function readImageEtcFile(layerDirs: string[], file: 'passwd' | 'group'): string | null {
  for (const dir of [...layerDirs].reverse()) {
    const fd = openBeneath(dir, `etc/${file}`);
    if (fd === -Errno.ENOENT) continue; // not in this layer
    if (fd === -Errno.ENXIO || fd === -Errno.ENOTDIR) return null; // an overlay whiteout (0/0 device), or etc is not a directory
    if (fd === -Errno.ELOOP) throw refuse(file, 'it is, or lies under, a symlink, which is not followed on the host');
    if (fd < 0) throw refuse(file, errnoName(-fd));
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw refuse(file, 'it is not a regular file');
      if (st.size > MAX_BYTES) throw refuse(file, `it is larger than ${MAX_BYTES >> 20} MiB`);
      const buf = Buffer.alloc(Math.min(st.size, MAX_BYTES) + 1);
      let n = 0;
      for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
      if (n > MAX_BYTES) throw refuse(file, `it is larger than ${MAX_BYTES >> 20} MiB`);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  }
  return null;
}
