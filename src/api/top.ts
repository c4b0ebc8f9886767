// `nsbox top` and `nsbox stats`: a container's processes and what they use,
// read from /proc (cgroups are not delegated to nsbox's pods).
import { NsboxError } from '../errors.js';
import { chooseMapping, containerIdOf } from '../idmap/mapping.js';
import { CLOCK_TICKS, processesLike, uptimeSeconds, type ProcessInfo } from '../process/namespace-processes.js';
import { readFileSync } from 'node:fs';
import type { Container } from './container.js';

function processesOf(c: Container): { processes: ProcessInfo[]; running: boolean } {
  const r = c.record();
  const state = c.state(r);
  if (state !== 'running' || !r.process) return { processes: [], running: false };
  return { processes: processesLike(r.process.pid), running: true };
}

/** podman top's default columns. */
export interface TopRow {
  USER: string;
  PID: number;
  PPID: number;
  '%CPU': string;
  ELAPSED: string;
  TTY: string;
  TIME: string;
  COMMAND: string;
}

function clock(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export function containerTop(c: Container): TopRow[] {
  const { processes, running } = processesOf(c);
  if (!running) throw new NsboxError('CONTAINER_STATE', `${c.ref} is not running`, `start it with \`nsbox start ${c.ref}\``);
  const mapping = chooseMapping();
  const up = uptimeSeconds();
  return processes.map((p) => {
    const elapsed = Math.max(0.01, up - p.startTicks / CLOCK_TICKS);
    const cpu = p.cpuTicks / CLOCK_TICKS;
    const uid = containerIdOf(mapping, p.hostUid, 'uid');
    return {
      USER: uid === null ? String(p.hostUid) : String(uid),
      PID: p.pid,
      PPID: p.ppid,
      '%CPU': ((cpu / elapsed) * 100).toFixed(3),
      ELAPSED: clock(elapsed),
      TTY: p.tty ? 'pts' : '?',
      TIME: clock(cpu),
      COMMAND: p.command,
    };
  });
}

/** podman stats' JSON fields (one sample). */
export interface StatsEntry {
  ContainerID: string;
  Name: string;
  /** Percent of one CPU over the sample. */
  CPU: number;
  /** Percent of one CPU since it started (podman's AVG CPU %). */
  AvgCPU: number;
  MemUsage: number;
  MemLimit: number;
  MemPerc: number;
  PIDs: number;
  /** CPU time used, in nanoseconds. */
  CPUNano: number;
  UpTime: number;
}

function memTotal(): number {
  const m = /^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'latin1'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** One sample: CPU over `sampleMs`, memory (the sum of the processes' resident sets) and processes now. */
export async function containerStats(containers: Container[], sampleMs = 200): Promise<StatsEntry[]> {
  const before = new Map(containers.map((c) => [c, processesOf(c).processes.reduce((t, p) => t + p.cpuTicks, 0)]));
  await new Promise((r) => setTimeout(r, sampleMs));
  const limit = memTotal();
  const up = uptimeSeconds();
  return containers.map((c) => {
    const r = c.record();
    const { processes } = processesOf(c);
    const ticks = processes.reduce((t, p) => t + p.cpuTicks, 0);
    const mem = processes.reduce((t, p) => t + p.rssBytes, 0);
    const oldest = processes.length ? Math.min(...processes.map((p) => p.startTicks)) / CLOCK_TICKS : up;
    const upFor = Math.max(0.01, up - oldest);
    return {
      ContainerID: r.id,
      Name: c.ref,
      CPU: Number(((Math.max(0, ticks - before.get(c)!) / CLOCK_TICKS / (sampleMs / 1000)) * 100).toFixed(2)),
      AvgCPU: Number((((ticks / CLOCK_TICKS) / upFor) * 100).toFixed(2)),
      MemUsage: mem,
      MemLimit: limit,
      MemPerc: limit ? Number(((mem / limit) * 100).toFixed(2)) : 0,
      PIDs: processes.length,
      CPUNano: Math.round((ticks / CLOCK_TICKS) * 1e9),
      UpTime: Math.round(upFor * 1e9),
    };
  });
}
