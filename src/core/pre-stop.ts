// A container's preStop hook (Kubernetes' lifecycle.preStop): run before
// its stop signal, inside the same grace period. Pure: the runner brings
// the clock and the exec.

/** A command run in the container, or a pause (Kubernetes' sleep action). */
export type PreStopHook = { exec: string[] } | { sleepSeconds: number };

/**
 * The seconds of grace left for the stop signal once the hook took
 * `spentMs` of `graceSeconds`: never below zero (then the container is
 * killed at once, as the kubelet does when a hook uses up the period).
 */
export function graceLeft(graceSeconds: number, spentMs: number): number {
  return Math.max(0, Math.round((graceSeconds * 1000 - spentMs) / 100) / 10);
}
