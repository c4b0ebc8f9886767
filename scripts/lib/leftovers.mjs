// After a test run: ends the processes that a test file killed mid-way (a
// timeout, a crash) left running in the run's state roots. A pod's pause and
// keeper and a network's holders run in sessions of their own and outlive the
// test process, so nothing else would end them. Each is checked by pid and
// start time against its record, never found by name.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** The start time of a live process (not a zombie); null when there is none. */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

function list(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every recorded process of one state root: [what, {pid, startTime}]. */
function recordedProcesses(root) {
  const found = [];
  for (const id of list(join(root, 'pods'))) {
    const pod = readJson(join(root, 'pods', id, 'pod.json'));
    if (pod?.supervisor?.pid) found.push([`pod ${pod.name ?? id}: keeper`, pod.supervisor]);
    if (pod?.pause?.pid) found.push([`pod ${pod.name ?? id}: pause`, pod.pause]);
  }
  for (const name of list(join(root, 'networks'))) {
    const net = readJson(join(root, 'networks', name, 'network.json'));
    if (net?.holder?.pid) found.push([`network ${name}: holder`, net.holder]);
  }
  for (const file of list(join(root, 'services'))) {
    const service = readJson(join(root, 'services', file));
    if (service?.pid) found.push([`system service on ${service.socket ?? '?'}`, service]);
  }
  const userns = readJson(join(root, 'networks', 'userns.json'));
  if (userns?.holder?.pid) found.push(['networks: user namespace holder', userns.holder]);
  return found;
}

/**
 * Kills what is still alive in the roots `<tmp>/<prefix>*`; returns one line
 * per process it ended, for the run's summary.
 */
export function endLeftovers(tmp, prefix) {
  const ended = [];
  for (const entry of list(tmp).filter((n) => n.startsWith(prefix))) {
    for (const [what, id] of recordedProcesses(join(tmp, entry))) {
      if (typeof id.pid !== 'number' || startTimeOf(id.pid) !== id.startTime) continue;
      try {
        process.kill(id.pid, 'SIGKILL');
        ended.push(`${join(tmp, entry)}: ${what} (pid ${id.pid})`);
      } catch {
        // gone meanwhile
      }
    }
  }
  return ended;
}
