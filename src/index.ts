// nsbox's public API: rootless pods for TypeScript programs and test suites.
// Everything comes from api/ (and the error classes).
export { createPod, type CreatePodOptions } from './api/create-pod.js';
export { Pod, type PodInfo } from './api/pod.js';
export type { PodStatus, ExecOptions, ExecResult } from './api/pod.js';
export { listPods, getPod, inspectPod, type PodInspection, type RootOption } from './api/pods.js';
export { NsboxError, SyscallError } from './errors.js';
export { runChecks } from './api/check.js';
export { Container, type ContainerLogs } from './api/container.js';
export type { ContainerRecord, ContainerState, RunOptions, RestartPolicy } from './api/containers.js';
export { getContainer, listContainerRecords as listContainers } from './api/containers.js';
export { removeImage, type RemoveImageOptions, type RemoveImageResult } from './api/images.js';
export { pullImage, pushImage, type PushOptions, type PushResult, tagImage, saveImages, type SaveFormat, type SaveOptions, type PullOptions, type PullProgress, type PullResult } from './api/images.js';
export { login, logout, type LoginOptions } from './api/registry.js';
export { createVolume, listVolumes, inspectVolume, removeVolume, pruneVolumes, volumeExists, type VolumeInspection, type VolumeRootOptions } from './api/volumes.js';
export { createNetwork, listNetworks, inspectNetwork, removeNetwork, networkExists, connectNetwork, disconnectNetwork, type CreateNetworkOptions, type NetworkInfo, type ConnectOptions } from './api/networks.js';
export * from './api/library.js';
// The verbs the CLI is made of, for programs that want exactly what it does.
export { openExec, ExecFailure, type ExecRequest, type ExecSession, type ExecTerminal } from './api/exec.js';
export { streamLogs, type LogEntry, type LogOptions } from './api/logs.js';
export { runContainer, type RunRequestOptions } from './api/run.js';
export { openAttach, type AttachEnds } from './api/attach.js';
export type { AttachOptions, Attachment } from './api/attach-keeper.js';
export { containerTop, containerStats, type TopRow, type StatsEntry } from './api/top.js';
export { imageVerbs } from './api/images.js';
export { defaultDataRoot, defaultRuntimeRoot } from './api/roots.js';
export { formatRestartPolicy, describeStatus, parseContainerRef } from './api/containers.js';
export { containerInspection, containerListEntry, containerFilter } from './api/containers.js';
export { podListEntry } from './api/pods.js';
export { renderTemplate, TemplateError } from './api/template.js';
export { playKube, downKube, generateKube, type KubeGenerateOptions, planKube, readKubeSource, type KubePlayOptions, type KubePlayResult, type KubeDownResult, type KubeSource } from './api/kube.js';
export { runHealthCheck, waitForCondition, containerHealth, type HealthCheckResult, type WaitCondition } from './api/health.js';
export type { HealthState, HealthStatus, HealthConfig } from './api/health.js';
// testcontainers' shape: new GenericContainer(image).with…().start(), Wait.for…().
export * from './api/testcontainers/index.js';
export { serveDockerApi, defaultServiceUri, type DockerServiceOptions } from './api/docker-service.js';
