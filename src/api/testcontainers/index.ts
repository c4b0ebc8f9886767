// The testcontainers-shaped part of the library: builders, started handles
// and wait strategies, named as testcontainers-node names them.
export { GenericContainer, type BindMode, type BindMount, type ContentToCopy, type FileToCopy, type TmpFs, type HealthCheck } from './generic-container.js';
export { StartedGenericContainer, StoppedGenericContainer, type RestartOptions, type StopOptions } from './started-container.js';
export { GenericPod, StartedGenericPod } from './generic-pod.js';
export {
  Wait,
  AbstractWaitStrategy,
  CompositeWaitStrategy,
  HostPortWaitStrategy,
  HttpWaitStrategy,
  LogWaitStrategy,
  OneShotStartupCheckStrategy,
  ShellWaitStrategy,
  HealthCheckWaitStrategy,
  type WaitStrategy,
} from './wait-strategies.js';
export { WaitError } from './wait-runner.js';
export type { WaitTarget, BoundPort, LogLines } from './wait-target.js';
export type { PortWithOptionalBinding } from '../../core/exposed-ports.js';
