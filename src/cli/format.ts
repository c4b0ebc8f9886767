// Table and time formatting in the style of podman's output.

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 2)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function timeAgo(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return s <= 1 ? 'Less than a second ago' : `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? 'About a minute ago' : `${m} minutes ago`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? 'About an hour ago' : `${h} hours ago`;
  return `${Math.round(h / 24)} days ago`;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export type OutputFormat = 'table' | 'json';

export function parseFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === 'table') return 'table';
  if (value === 'json') return 'json';
  throw new Error(`unknown format ${JSON.stringify(value)}: use table or json`);
}
