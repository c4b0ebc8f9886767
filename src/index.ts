// nsbox's public API: rootless pods for TypeScript programs and test suites.
export { createPod, type CreatePodOptions } from './pod/create.js';
export { Pod, type PodInfo } from './pod/pod.js';
export type { PodStatus } from './pod/record.js';
export type { ExecOptions, ExecResult } from './pod/exec.js';
export { listPods, getPod, inspectPod, type PodInspection, type RootOption } from './api.js';
export { NsboxError, SyscallError } from './errors.js';
export { runChecks, formatCheckReport } from './check/check.js';
