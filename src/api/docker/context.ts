// What every handler of the service needs: where state and images live,
// and the work the service itself still owes (auto-removals, exit codes of
// containers already removed), which also keeps it from exiting idle.
export interface ServiceContext {
  root: string;
  dataRoot: string;
  /** Exit codes of AutoRemove containers after their removal, for wait?condition=removed. */
  exitCodes: Map<string, number>;
  /** Attach streams still reading each container's output: its --rm waits for them. */
  attached: Map<string, Set<Promise<void>>>;
  /** Runs background work the idle timer must wait for. */
  track<T>(work: Promise<T>): Promise<T>;
}
