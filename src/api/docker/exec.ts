// Docker's exec instances: create stores what to run, start runs it in the
// container (this service is its parent) on the hijacked connection, with
// docker's multiplexed framing, or raw bytes with a TTY; inspect tells the
// exit code. Instances live in this process, as dockerd keeps them in memory.
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomHex } from '../../process/random.js';
import type { ExecSession } from '../exec.js';
import { resolveContainer, dockerState } from './containers.js';
import { badRequest, conflict, frame, notFound, readJsonBody, sendEmpty, sendJson } from './wire.js';
import type { ServiceContext } from './context.js';

interface ExecConfig {
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
  ConsoleSize?: [number, number] | null;
}

interface ExecInstance {
  id: string;
  containerId: string;
  pod: string;
  join: string;
  config: ExecConfig;
  running: boolean;
  exitCode: number | null;
  pid: number;
  session: ExecSession | null;
}

const instances = new Map<string, ExecInstance>();

export async function createExec(ctx: ServiceContext, ref: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const config = await readJsonBody<ExecConfig>(req);
  if (!config.Cmd?.length) throw badRequest('No exec command specified');
  if (config.Privileged) throw badRequest('privileged exec is refused: a rootless pod has no privileges to give');
  const r = await resolveContainer(ctx, ref);
  if (dockerState(r) !== 'running') throw conflict(`Container ${ref} is not running`);
  const id = randomHex(32);
  const pod = r.docker?.pod ?? r.pod!.name;
  const join = r.docker?.kind === 'pause' ? 'pause' : r.container!.name;
  instances.set(id, { id, containerId: r.docker?.Id ?? r.container!.record().id, pod, join, config, running: false, exitCode: null, pid: 0, session: null });
  sendJson(res, 201, { Id: id });
}

function instance(id: string): ExecInstance {
  const i = instances.get(id);
  if (!i) throw notFound(`No such exec instance: ${id}`);
  return i;
}

export async function startExec(ctx: ServiceContext, id: string, req: IncomingMessage, socket: Duplex | null, res: ServerResponse | null): Promise<void> {
  const inst = instance(id);
  const body = await readJsonBody<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] | null }>(req);
  if (inst.running || inst.exitCode !== null) throw conflict(`exec instance ${id} has already been started`);
  const { openExec } = await import('../exec.js');
  const tty = body.Tty ?? inst.config.Tty ?? false;
  const size = body.ConsoleSize ?? inst.config.ConsoleSize ?? [24, 80];
  const { ExecFailure } = await import('../exec.js');
  const type = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  const begin = () =>
    socket
      ? (socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${type}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`), { write: (b: Buffer) => void socket.write(b), end: () => void socket.end() })
      : (res!.writeHead(200, { 'Content-Type': type }), { write: (b: Buffer) => void res!.write(b), end: () => void res!.end() });
  let session: ExecSession;
  try {
    session = await openExec({
    root: ctx.root,
    dataRoot: ctx.dataRoot,
    pod: inst.pod,
    join: inst.join,
    argv: inst.config.Cmd!,
    env: inst.config.Env ?? [],
    ...(inst.config.WorkingDir ? { workdir: inst.config.WorkingDir } : {}),
    ...(inst.config.User ? { user: inst.config.User } : {}),
    stdin: !!inst.config.AttachStdin && !body.Detach,
    tty: tty && !body.Detach ? { rows: size[0] || 24, cols: size[1] || 80 } : null,
    detach: !!body.Detach,
    });
  } catch (err) {
    // As docker: the start succeeds, the message goes to stderr, inspect tells the code (126/127).
    if (!(err instanceof ExecFailure) || body.Detach) throw err;
    inst.exitCode = err.exitCode;
    const out = begin();
    const text = Buffer.from(`${err.message}\n`);
    out.write(tty ? text : frame(2, text));
    return out.end();
  }
  inst.running = true;
  inst.pid = session.pid;
  inst.session = session;
  const done = ctx.track(session.wait()).then((code) => {
    inst.running = false;
    inst.exitCode = code;
    return code;
  });
  if (body.Detach) {
    if (res) sendEmpty(res, 200);
    else socket?.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const out = begin();
  const input = socket ?? req;
  if (session.terminal) {
    const t = session.terminal;
    input.on('data', (d: Buffer) => t.write(d));
    void t.pump((data, next) => (out.write(data), next()));
  } else {
    session.stdout?.on('data', (d: Buffer) => out.write(frame(1, d)));
    session.stderr?.on('data', (d: Buffer) => out.write(frame(2, d)));
    if (session.stdin) {
      const stdin = session.stdin;
      input.on('data', (d: Buffer) => stdin.write(d));
      input.on('end', () => stdin.end());
    }
  }
  input.on('error', () => {});
  await done;
  out.end();
}

export function resizeExec(id: string, q: URLSearchParams, res: ServerResponse): void {
  const inst = instance(id);
  const rows = Number(q.get('h'));
  const cols = Number(q.get('w'));
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows <= 0 || cols <= 0) throw badRequest('resize needs h and w, positive integers');
  inst.session?.terminal?.resize(rows, cols);
  sendEmpty(res, 200);
}

export function inspectExec(id: string, res: ServerResponse): void {
  const i = instance(id);
  sendJson(res, 200, {
    ID: i.id,
    Running: i.running,
    ExitCode: i.exitCode,
    ProcessConfig: { entrypoint: i.config.Cmd![0], arguments: i.config.Cmd!.slice(1), tty: !!i.config.Tty, privileged: false, user: i.config.User ?? '' },
    OpenStdin: !!i.config.AttachStdin,
    OpenStdout: i.config.AttachStdout !== false,
    OpenStderr: i.config.AttachStderr !== false,
    ContainerID: i.containerId,
    Pid: i.pid,
  });
}
