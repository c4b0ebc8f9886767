// Moved to core/errno.ts (errors.ts needs it, and native/ needs errors.ts).
// Kept only for container/manager.ts, which is being rewritten: import core/errno.js.
export * from '../core/errno.js';
