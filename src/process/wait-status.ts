// Moved to core/wait-status.ts (pure; native/reaper.ts needs it).
// Kept only for pod/pod.ts and container/manager.ts, which are being rewritten: import core/wait-status.js.
export * from '../core/wait-status.js';
