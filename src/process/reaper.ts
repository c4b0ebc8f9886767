// Moved to native/reaper.ts (native/spawn.ts needs it, and it needs native/ffi.ts).
// Kept only for supervisor/main.ts, pod/create.ts, pod/pod.ts and
// container/manager.ts, which are being rewritten: import native/reaper.js.
export { reaper } from '../native/reaper.js';
