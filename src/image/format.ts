// Human forms of sizes, durations and import progress.

/** Decimal units with three significant digits, as podman prints sizes: "181 MB", "5.59 MB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : Number(v.toPrecision(3))} ${units[i]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "sha256:0123456789ab…" */
export function shortDigest(id: string): string {
  return `sha256:${id.replace(/^sha256:/, '').slice(0, 12)}…`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
