// nsbox's public API: rootless pods for TypeScript programs and test suites.
export { createPod, type CreatePodOptions } from './api/create-pod.js';
export { Pod, type PodInfo } from './api/pod.js';
export type { PodStatus } from './pod/record.js';
export type { ExecOptions, ExecResult } from './pod/exec.js';
export { listPods, getPod, inspectPod, type PodInspection, type RootOption } from './api/pods.js';
export { NsboxError, SyscallError } from './errors.js';
export { runChecks } from './api/check.js';
export { formatCheckReport } from './check/check.js';
export { Container, type ContainerLogs } from './api/container.js';
export type { ContainerRecord, ContainerState } from './container/record.js';
export type { RunOptions, RestartPolicy } from './container/spec.js';
export { getContainer, listContainerRecords as listContainers } from './api/containers.js';
export { importImage, importImages, type ImportOptions, type ImportProgress, type ImportResult } from './image/import.js';
export { listImages, inspectImage, type ImageInspection, type ImageRootOption } from './image/api.js';
export { removeImage, type RemoveImageOptions, type RemoveImageResult } from './api/images.js';
export { findImage, layerDirs, materializeRootfs, type ImageRecord, type ImageConfig } from './image/store.js';
// The verbs the CLI is made of, for programs that want exactly what it does.
export { openExec, ExecFailure, type ExecRequest, type ExecSession, type ExecTerminal } from './api/exec.js';
export { streamLogs, type LogEntry, type LogOptions } from './api/logs.js';
export { runContainer, type RunRequestOptions } from './api/run.js';
export { imageVerbs } from './api/images.js';
export { defaultDataRoot, defaultRuntimeRoot } from './api/roots.js';
export { formatRestartPolicy, describeStatus, parseContainerRef } from './api/containers.js';
