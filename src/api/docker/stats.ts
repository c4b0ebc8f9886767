// GET /containers/{id}/stats in docker's JSON shape, from what nsbox
// measures (api/top.ts: /proc, as cgroups are not delegated to its pods):
// CPU time of the container's processes against the machine's, the sum of
// their resident sets against the machine's memory (no limit is set), the
// number of processes, and the pod's interfaces from its network
// namespace. stream=false is one sample with precpu_stats; stream=true one
// object a second until the client goes.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { ServerResponse } from 'node:http';
import type { Container } from '../container.js';
import { dockerState, resolveContainer } from './containers.js';
import { flag } from './wire.js';
import type { ServiceContext } from './context.js';

const SAMPLE_MS = 200;
const STREAM_MS = 1000;
const NS_PER_TICK = 1e9 / 100; // USER_HZ is 100 on Linux

/** The machine's CPU time so far (/proc/stat's first line), in ns: docker's system_cpu_usage. */
function systemCpuNs(): number {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  return line.trim().split(/\s+/).slice(1, 8).reduce((t, v) => t + Number(v), 0) * NS_PER_TICK;
}

type Interfaces = Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;

/** The interfaces of the namespace `pid` is in (loopback left out, as docker's are the container's own). */
function interfacesOf(pid: number | undefined): Interfaces | undefined {
  if (!pid) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'latin1');
  } catch {
    return undefined;
  }
  const out: Interfaces = {};
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m || m[1] === 'lo') continue;
    const n = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = { rx_bytes: n[0]!, rx_packets: n[1]!, rx_errors: n[2]!, rx_dropped: n[3]!, tx_bytes: n[8]!, tx_packets: n[9]!, tx_errors: n[10]!, tx_dropped: n[11]! };
  }
  return out;
}

const cpuStats = (total: number, system: number, online: number) => ({
  cpu_usage: { total_usage: total, usage_in_kernelmode: 0, usage_in_usermode: 0 },
  system_cpu_usage: system,
  online_cpus: online,
  throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
});

async function sample(c: Container | null, id: string, name: string) {
  const online = cpus().length;
  const read = () => new Date().toISOString();
  const preread = read();
  const systemBefore = systemCpuNs();
  let s = { CPU: 0, CPUNano: 0, MemUsage: 0, MemLimit: 0, PIDs: 0 };
  if (c && c.state() === 'running') {
    const { containerStats } = await import('../top.js');
    s = (await containerStats([c], SAMPLE_MS))[0]!;
  } else await new Promise((ok) => setTimeout(ok, SAMPLE_MS));
  const systemAfter = systemCpuNs();
  const usedInSample = Math.round((s.CPU / 100) * SAMPLE_MS * 1e6);
  const networks = interfacesOf(c?.state() === 'running' ? c.record().process?.pid : undefined);
  return {
    read: read(),
    preread,
    id,
    name: `/${name}`,
    pids_stats: { current: s.PIDs },
    blkio_stats: { io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null, io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cpuStats(s.CPUNano, systemAfter, online),
    precpu_stats: cpuStats(Math.max(0, s.CPUNano - usedInSample), systemBefore, online),
    memory_stats: { usage: s.MemUsage, limit: s.MemLimit, stats: {} },
    ...(networks ? { networks } : {}),
  };
}

export async function containerStatsJson(ctx: ServiceContext, ref: string, q: URLSearchParams, res: ServerResponse): Promise<void> {
  const r = await resolveContainer(ctx, ref);
  const id = r.docker?.Id ?? r.container!.record().id;
  const name = r.docker?.Name ?? r.container!.ref;
  const running = () => dockerState(r) === 'running';
  // docker's one-shot skips the second sample; nsbox's one sample is short either way.
  const stream = flag(q, 'stream', true);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  if (!stream) return void res.end(JSON.stringify(await sample(r.container, id, name)));
  let open = true;
  res.on('close', () => (open = false));
  while (open) {
    res.write(JSON.stringify(await sample(running() ? r.container : null, id, name)) + '\n');
    await new Promise((ok) => setTimeout(ok, STREAM_MS - SAMPLE_MS));
  }
  res.end();
}
