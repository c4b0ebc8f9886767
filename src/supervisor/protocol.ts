// Messages between the CLI/library and a pod's supervisor: one JSON object
// per line on a unix socket in the pod's state directory.
export type SupervisorRequest = { op: 'ping' } | { op: 'stop'; timeoutSeconds: number };

export type SupervisorResponse = { ok: true; pid: number } | { ok: false; error: { code: string; message: string; hint?: string } };
