// Decoding of waitpid(2) statuses and the shell convention for exit codes.
import { constants } from 'node:os';

export interface ExitStatus {
  /** Exit code when the process exited normally, else null. */
  code: number | null;
  /** Signal number when it was killed by a signal, else null. */
  signal: number | null;
}

export function decodeWaitStatus(status: number): ExitStatus {
  const termSig = status & 0x7f;
  if (termSig === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: termSig };
}

/** 128+N for a signal, as shells and podman report it. */
export function shellExitCode(s: ExitStatus): number {
  return s.signal !== null ? 128 + s.signal : (s.code ?? 0);
}

export function signalName(signal: number): string {
  const entry = Object.entries(constants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : `signal ${signal}`;
}

/** Accepts 9, "9", "KILL", "SIGKILL". */
export function parseSignal(spec: string | number): number | null {
  if (typeof spec === 'number') return Number.isInteger(spec) && spec > 0 && spec < 65 ? spec : null;
  if (/^\d+$/.test(spec)) return parseSignal(Number(spec));
  const name = spec.toUpperCase().startsWith('SIG') ? spec.toUpperCase() : `SIG${spec.toUpperCase()}`;
  const n = (constants.signals as Record<string, number>)[name];
  return n ?? null;
}
