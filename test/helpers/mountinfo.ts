// /proc/PID/mountinfo as the kernel prints it (proc(5)): what a container
// sees of its own mounts, read from inside it, so tests assert mount types
// and flags instead of trying writes that would change the host if they
// ever worked.

export interface MountEntry {
  /** major:minor of the filesystem: equal for two binds of the same file system. */
  device: string;
  /** Path of the mount's root within its filesystem (`/null` for a bind of /dev/null). */
  root: string;
  mountPoint: string;
  /** Per-mount options: rw or ro, nosuid, nodev, noexec, ... */
  options: string[];
  fsType: string;
  source: string;
  /** Per-superblock options. */
  superOptions: string[];
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 6 || fields.length < dash + 4) continue;
    entries.push({
      device: fields[2]!,
      root: unescape(fields[3]!),
      mountPoint: unescape(fields[4]!),
      options: fields[5]!.split(','),
      fsType: fields[dash + 1]!,
      source: unescape(fields[dash + 2]!),
      superOptions: fields[dash + 3]!.split(','),
    });
  }
  return entries;
}

/** The mount that is visible at `path` exactly (the last one mounted there), or undefined. */
export function mountAt(entries: MountEntry[], path: string): MountEntry | undefined {
  return entries.filter((e) => e.mountPoint === path).at(-1);
}

/** The mountinfo text between two marker lines of a container's output. */
export function between(output: string, start: string, end: string): string {
  const from = output.indexOf(`${start}\n`);
  const to = from < 0 ? -1 : output.indexOf(`${end}\n`, from + start.length + 1);
  if (to < 0) throw new Error(`markers ${start}/${end} not found in output:\n${output}`);
  return output.slice(from + start.length + 1, to);
}
