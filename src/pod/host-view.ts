// What of the host an exec of a host program sees (see HostView in
// plans.ts), looked up once per process, and how its program is found.
import { closeSync, lstatSync, openSync, readlinkSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { HOST_VIEW_DIRS, type HostView } from './plans.js';

let cached: HostView | null = null;

/** The system directories that exist here: real ones are bound, symlinks (merged /usr) recreated. */
export function lookUpHostView(): HostView {
  if (cached) return cached;
  const view: HostView = { dirs: [], links: [] };
  for (const path of HOST_VIEW_DIRS) {
    try {
      const st = lstatSync(path);
      if (st.isSymbolicLink()) view.links.push({ path, target: readlinkSync(path) });
      else if (st.isDirectory()) view.dirs.push(path);
    } catch {
      // not on this system
    }
  }
  return (cached = view);
}

function insideView(path: string, view: HostView): boolean {
  return view.dirs.some((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * A command given by path (`/opt/tool`, `./probe`) that lies outside the
 * view is opened here and run from that fd, so the program runs without
 * its directory becoming visible. Names and paths inside the view resolve
 * inside it. Returns the fd to pass as execFd (close it after the spawn).
 */
export function openHostProgram(file: string, view: HostView): number | undefined {
  if (!file.includes('/')) return undefined;
  let real: string;
  try {
    real = realpathSync(resolve(file));
  } catch {
    return undefined; // the exec fails inside with the usual "no such file"
  }
  if (insideView(real, view)) return undefined;
  try {
    return openSync(real, 'r');
  } catch {
    return undefined;
  }
}

export function closeHostProgram(fd: number | undefined): void {
  if (fd !== undefined) closeSync(fd);
}
