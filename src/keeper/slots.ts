// The fds of a pod's keeper (native-shims/keeper/main.c) that plans name:
// fd 3 is the socket to the pod's creator; the published ports' host
// listeners follow as 4, 5, ...; then fixed slots that the keeper fills
// before it runs a plan. Plans are built here, run there, so both sides
// must agree on these numbers.

export const KEEPER_CONTROL_FD = 3;

/** Where the keeper holds published port i's host listener. */
export const keeperListenerFd = (i: number): number => 4 + i;

export interface KeeperSlots {
  /** A pidfd of the pod's pause (always there). */
  pausePidfd: number;
  /** A container's stdout pipe, or pasta's log file, while a plan runs. */
  stdout: number;
  stderr: number;
  /** Where a container's process sends its mount namespace. */
  namespaceSocket: number;
  /** A container's stdin pipe (-i), or the socket its terminal's master is sent on (-t); else /dev/null. */
  stdin: number;
  /** Where the listener of port i of a `publish` is while its forwarder's plan runs. */
  listen(i: number): number;
}

/** Ports one `publish` request may bring (the keeper's MAX_PUBLISH). */
export const MAX_PUBLISH = 16;

export function keeperSlots(listeners: number): KeeperSlots {
  const base = 4 + listeners;
  return { pausePidfd: base, stdout: base + 1, stderr: base + 2, namespaceSocket: base + 3, stdin: base + 4, listen: (i) => base + 5 + i };
}
