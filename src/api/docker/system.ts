// _ping, version and info: what every docker client asks first. The API
// version is docker 20.10's; clients that pin a newer one are answered on
// the same endpoints (the service strips any /vX.Y prefix).
import { cpus, hostname, release, totalmem } from 'node:os';
import type { ServerResponse } from 'node:http';
import { sendJson } from './wire.js';
import type { ServiceContext } from './context.js';

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
/** What docker clients see as the engine's version (nsbox's own is in Components). */
export const ENGINE_VERSION = '20.10.0';

const arch = () => (process.arch === 'x64' ? 'amd64' : process.arch);

export function pingHeaders(): Record<string, string> {
  return { 'API-Version': API_VERSION, OSType: 'linux', 'Docker-Experimental': 'false', 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' };
}

export function ping(res: ServerResponse, head: boolean): void {
  res.writeHead(200, { ...pingHeaders(), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
  res.end(head ? undefined : 'OK');
}

export function version(res: ServerResponse, nsboxVersion: string): void {
  sendJson(res, 200, {
    Platform: { Name: 'nsbox' },
    Components: [
      { Name: 'Engine', Version: ENGINE_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: arch(), KernelVersion: release() } },
      { Name: 'nsbox', Version: nsboxVersion, Details: {} },
    ],
    Version: ENGINE_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'nsbox',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: arch(),
    KernelVersion: release(),
    BuildTime: '',
  });
}

export async function info(ctx: ServiceContext, res: ServerResponse): Promise<void> {
  const [{ listContainerRecords }, { listImages }, { listDockerContainers }] = await Promise.all([import('../../container/list.js'), import('../../image/api.js'), import('./store.js')]);
  const records = listContainerRecords(ctx.root);
  const running = records.filter((r) => r.state === 'running').length;
  const created = listDockerContainers(ctx.root).filter((d) => !d.started && !d.made).length; // a made one is among the records
  sendJson(res, 200, {
    ID: `nsbox-${process.getuid?.() ?? 0}`,
    Containers: records.length + created,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: records.length - running + created,
    Images: listImages({ root: ctx.dataRoot }).length,
    Driver: 'overlay',
    DriverStatus: [],
    Plugins: { Volume: ['local'], Network: ['bridge', 'null'], Log: ['json-file'] },
    MemoryLimit: false,
    SwapLimit: false,
    CgroupDriver: 'none',
    CgroupVersion: '2',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'nsbox rootless pods',
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
    NCPU: cpus().length,
    MemTotal: totalmem(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    DockerRootDir: ctx.dataRoot,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: ENGINE_VERSION,
    Runtimes: { nsbox: { path: 'nsbox' } },
    DefaultRuntime: 'nsbox',
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    SecurityOptions: ['name=seccomp,profile=default', ...(process.getuid?.() !== 0 ? ['name=rootless'] : [])],
    Warnings: [],
  });
}
