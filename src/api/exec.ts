// `exec`: a command in a running pod (joining the pause, with a read-only
// view of the host's system directories) or in one of its containers. The
// command never gets the caller's own fds (a process in the pod could reopen
// them through /proc/PID/fd after the exec ended): it gets pipes, or a
// terminal it makes inside its own root whose master comes back to us. The
// session hands the caller our ends; the caller relays them.
import { read, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { NsboxError } from '../errors.js';
import { errnoName } from '../core/errno.js';
import { shellExitCode } from '../core/wait-status.js';
import { closeFd, pipe, receiveFd, setWinsize, socketPair } from '../native/ffi.js';
import type { SpawnPlan } from '../native/plan.js';
import { reaper } from '../native/reaper.js';
import { buildEnv, spawnCommand } from '../pod/exec.js';
import { closeHostProgram, lookUpHostView, openHostProgram } from '../pod/host-view.js';
import { execPlan, type CommandStdio } from '../pod/plans.js';
import { notRunning, openPausePidfd } from '../pod/info.js';
import { isAlive, type ProcIdentity } from '../process/proc-stat.js';
import { refuse } from '../container/record.js';
import { findPod } from '../pod/store.js';
import { containerExecPlan } from '../container/plans.js';
import { containerSeccompProgram } from '../container/seccomp.js';
import { parseUser } from '../container/spec.js';
import { requireMappedIds } from '../idmap/mapped-ids.js';

export { ExecFailure } from '../pod/exec.js';

export interface ExecRequest {
  root: string;
  pod: string;
  /** pause (the pod itself, default) or a container's name. */
  join?: string;
  argv: string[];
  env?: string[];
  workdir?: string;
  /** Give the command a stdin we can write to (else /dev/null). */
  stdin?: boolean;
  /** A terminal of this size, made inside the command's root. */
  tty?: { rows: number; cols: number } | null;
  /** exec -u: UID[:GID], or (in a container) a name from its image's /etc/passwd; default the container's user, or the pod's root. */
  user?: string;
  /** Where images live (names in -u are looked up in the container's image). */
  dataRoot?: string;
  /** exec -d: its stdio is /dev/null and nothing waits for it here (wait() still tells its end while this process runs). */
  detach?: boolean;
  /**
   * Start it from the nsbox-exec helper process rather than from this one,
   * which then loads no FFI addon: the CLI's choice, as a short-lived process
   * (a long-lived one has the addon loaded already and spawns faster itself).
   * Not with tty, whose terminal comes back as an fd.
   */
  viaHelper?: boolean;
}

/** The pod's side of a terminal: its master, ours to copy to and from. */
export interface ExecTerminal {
  write(data: Buffer): void;
  resize(rows: number, cols: number): void;
  /** Calls onData with what the command prints; resolves once every process has closed the terminal. */
  pump(onData: (data: Buffer, next: () => void) => void): Promise<void>;
}

export interface ExecSession {
  pid: number;
  /** Pipes mode: our ends of its stdout and stderr, and of its stdin when asked for. */
  stdout: Socket | null;
  stderr: Socket | null;
  stdin: Socket | null;
  terminal: ExecTerminal | null;
  /** Sends a signal to the command (it runs in its own session). */
  signal(sig: NodeJS.Signals): void;
  /** Its exit code (128+N for a signal), once it has exited and its output is drained. */
  wait(): Promise<number>;
}

/** How long output may still arrive after the command exited (a background child may hold the pipe). */
const DRAIN_GRACE_MS = 250;

interface Target {
  /** The process whose namespaces the command joins (the pause, or the container's), checked against its start time. */
  identity: ProcIdentity;
  /** A pidfd on it, from this process (the helper opens its own). */
  open(): number;
  /** Why it cannot be joined once it turns out to be gone. */
  gone(): NsboxError;
  /** A host program to run, opened here (exec --join pause of a path outside the view). */
  execFd: number | undefined;
  plan: (pidfd: number, stdio: CommandStdio, execFd: number | undefined) => SpawnPlan;
  release(): void;
}

async function resolveTarget(req: ExecRequest): Promise<Target> {
  const record = findPod(req.root, req.pod);
  const extra = req.env ?? [];
  if ((req.join ?? 'pause') === 'pause') {
    if (!isAlive(record.pause)) throw notRunning(record);
    const asUser = req.user !== undefined ? parseUser(req.user) : undefined;
    if (asUser) requireMappedIds(asUser, record.pause.pid, record.name);
    const user = asUser ? { ...asUser, canSetGroups: record.mapping !== 'single' } : undefined;
    const env = buildEnv({ HOSTNAME: record.hostname, HOME: '/root' }, extra);
    const cwd = req.workdir ?? '/';
    const hostView = lookUpHostView();
    const execFd = openHostProgram(req.argv[0]!, hostView);
    return {
      identity: record.pause,
      open: () => openPausePidfd(record),
      gone: () => notRunning(record),
      execFd,
      plan: (pidfd, stdio, fd) => execPlan({ pausePidfd: pidfd, argv: req.argv, env, cwd, stdio, hostView, lockedView: record.mapping === 'root', execFd: fd, user }),
      release: () => closeHostProgram(execFd),
    };
  }
  // Joining a container: its mount namespace, working directory and environment too.
  const { Container } = await import('./container.js');
  const { Pod } = await import('./pod.js');
  const c = new Container(new Pod(req.root, record), req.join!);
  const r = c.record();
  c.refuseUnless(r, 'exec');
  let user = r.user;
  if (req.user !== undefined) {
    const [{ resolveUserNames }, { layerDirs }, { defaultDataRoot }] = await Promise.all([import('../container/run.js'), import('../image/store.js'), import('../state/paths.js')]);
    user = parseUser(resolveUserNames(req.user, layerDirs(req.dataRoot ?? defaultDataRoot(), r.image)));
    requireMappedIds(user, record.pause.pid, record.name);
  }
  const base = Object.fromEntries(r.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  const env = buildEnv(base, extra);
  const cwd = req.workdir ?? r.workdir;
  const canSetGroups = record.mapping !== 'single';
  const seccomp = containerSeccompProgram(r, c.paths());
  return {
    identity: r.process!,
    open: () => c.openPidfd(r, 'exec'),
    gone: () => refuse(r, 'exec', 'exited'),
    execFd: undefined,
    plan: (pidfd, stdio) => containerExecPlan({ containerPidfd: pidfd, argv: req.argv, env, cwd, user, canSetGroups, stdio, capabilities: r.capabilities, seccomp }),
    release: () => {},
  };
}

type Pipe = ReturnType<typeof pipe>;

function openPipes(count: number): Pipe[] {
  const pipes = Array.from({ length: count }, () => pipe());
  const failed = pipes.find((p) => p.rc < 0);
  if (failed) {
    for (const p of pipes) if (p.rc === 0) (closeFd(p.read), closeFd(p.write));
    throw new NsboxError('PIPE', `pipe2: ${errnoName(-failed.rc)}`, 'too many open files? raise `ulimit -n`');
  }
  return pipes;
}

/** Resolves once the stream has ended, closed or failed. */
export function ended(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('end', resolve);
    socket.once('close', resolve);
    socket.once('error', () => resolve());
  });
}

export function terminalOf(master: number): ExecTerminal & { close(): Promise<void> } {
  let closed = false;
  let pumped: Promise<void> = Promise.resolve();
  return {
    write(data) {
      try {
        if (!closed) writeSync(master, data);
      } catch {
        // the command is gone
      }
    },
    resize(rows, cols) {
      if (!closed) setWinsize(master, rows, cols);
    },
    // Reads until the slave side is closed by every process (EIO).
    pump(onData) {
      return (pumped = new Promise<void>((resolve) => {
        const buf = Buffer.alloc(64 * 1024);
        const next = () =>
          read(master, buf, 0, buf.length, null, (err, n) => {
            if (err || n === 0) return resolve();
            onData(Buffer.from(buf.subarray(0, n)), next);
          });
        next();
      }));
    },
    /** Once what it printed is out (the pump, if any, has seen the end). */
    async close() {
      await pumped;
      if (!closed) closeFd(master);
      closed = true;
    },
  };
}

const detachWithInput = () => new NsboxError('INVALID_ARGUMENT', 'exec -d runs with no terminal and no stdin', 'drop -i/-t, or drop -d');

/** Starts the command; throws ExecFailure (exit code 126/127) when it cannot be executed. */
export async function openExec(req: ExecRequest): Promise<ExecSession> {
  if (req.argv.length === 0) throw new NsboxError('INVALID_ARGUMENT', 'exec needs a command after the pod', 'nsbox exec POD -- CMD [ARGS...]');
  const target = await resolveTarget(req);
  if (req.viaHelper && !req.tty) {
    if (req.detach && req.stdin) {
      target.release();
      throw detachWithInput();
    }
    const { openExecViaHelper } = await import('./exec-helper.js');
    return openExecViaHelper(req, target);
  }
  let pidfd = -1;
  let pipes: Pipe[] = [];
  let ttyPair: [number, number] | null = null;
  let pid: number;
  try {
    if (req.detach && (req.tty || req.stdin)) throw detachWithInput();
    if (req.detach) {
      // nothing to relay
    } else if (req.tty) {
      const pair = socketPair();
      if (pair.rc < 0) throw new NsboxError('PTY', `cannot create a socket pair for the terminal: ${errnoName(-pair.rc)}`, 'too many open files? raise `ulimit -n`');
      ttyPair = pair.fds;
    } else pipes = openPipes(req.stdin ? 3 : 2);
    const [out, err, input] = pipes as [Pipe, Pipe, Pipe | undefined];
    const stdio: CommandStdio = req.detach ? { fds: [-1, -1, -1] } : ttyPair ? { terminalSocket: ttyPair[1], ...req.tty! } : { fds: [input ? input.read : -1, out.write, err.write] };
    pidfd = target.open();
    const plan = target.plan(pidfd, stdio, target.execFd);
    // Detached: the pod's PID 1 is to be its parent (and reap it), not this process that goes away.
    if (req.detach) plan.child.unshift({ op: 'daemonize' });
    pid = await spawnCommand(plan, { blocking: true });
  } catch (err) {
    for (const p of pipes) (closeFd(p.read), closeFd(p.write));
    if (ttyPair) (closeFd(ttyPair[0]), closeFd(ttyPair[1]));
    throw err;
  } finally {
    if (pidfd >= 0) closeFd(pidfd);
    target.release();
  }
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig); // our own unreaped child: the pid cannot be reused yet
    } catch {
      // it has exited
    }
  };
  // Detached: its end does not keep this process alive.
  const exited = reaper.wait(pid, { keepAlive: !req.detach });
  if (req.detach) return { pid, stdout: null, stderr: null, stdin: null, terminal: null, signal, wait: async () => shellExitCode(await exited) };
  if (ttyPair) {
    const master = receiveFd(ttyPair[0]);
    closeFd(ttyPair[0]);
    closeFd(ttyPair[1]);
    if (master < 0) {
      signal('SIGKILL');
      await exited;
      throw new NsboxError('PTY', `the command's terminal did not arrive: ${errnoName(-master)}`, 'is /dev/pts mounted in the container?');
    }
    const terminal = terminalOf(master);
    return {
      pid,
      stdout: null,
      stderr: null,
      stdin: null,
      terminal,
      signal,
      async wait() {
        const status = await exited;
        await terminal.close();
        return shellExitCode(status);
      },
    };
  }
  const [out, err, input] = pipes as [Pipe, Pipe, Pipe | undefined];
  closeFd(out.write);
  closeFd(err.write);
  const { Socket: SocketClass } = await import('node:net');
  const stdout = new SocketClass({ fd: out.read, readable: true, writable: false });
  const stderr = new SocketClass({ fd: err.read, readable: true, writable: false });
  let stdin: Socket | null = null;
  if (input) {
    closeFd(input.read);
    stdin = new SocketClass({ fd: input.write, readable: false, writable: true });
    stdin.on('error', () => {}); // the command may exit without reading
  }
  const outputDone = Promise.all([ended(stdout), ended(stderr)]);
  return {
    pid,
    stdout,
    stderr,
    stdin,
    terminal: null,
    signal,
    async wait() {
      const status = await exited;
      await Promise.race([outputDone, new Promise((r) => setTimeout(r, DRAIN_GRACE_MS).unref())]);
      for (const s of [stdout, stderr, stdin]) s?.destroy();
      return shellExitCode(status);
    },
  };
}

export type { Target as ExecTarget };
