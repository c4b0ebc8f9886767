// Messages between the CLI/library and a pod's supervisor: one JSON object
// per line on a unix socket in the pod's state directory.
import type { RunRequest } from '../container/manager.js';
import type { ContainerRecord } from '../container/record.js';

export type SupervisorRequest =
  | { op: 'ping' }
  | { op: 'stop'; timeoutSeconds: number }
  | { op: 'run'; request: RunRequest }
  | { op: 'container-start'; name: string }
  | { op: 'container-stop'; name: string; timeoutSeconds: number }
  | { op: 'container-rm'; name: string; force: boolean }
  | { op: 'container-wait'; name: string };

export type SupervisorResponse =
  | { ok: true; pid: number; container?: ContainerRecord }
  | { ok: false; error: { code: string; message: string; hint?: string } };
