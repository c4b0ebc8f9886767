// Messages between the CLI/library and a pod's supervisor: one JSON object
// per line on a unix socket in the pod's state directory.
export type SupervisorRequest = { op: 'ping' } | { op: 'stop'; timeoutSeconds: number };

export type SupervisorResponse = { ok: true; pid: number } | { ok: false; error: { code: string; message: string; hint?: string } };

/** What a starting supervisor prints on its stdout pipe, one line. */
export type SupervisorStartReport =
  | { ready: true; id: string; warnings: string[] }
  | { ready: false; error: { code: string; message: string; hint?: string } };
