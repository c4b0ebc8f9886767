// The container state machine (src/core/lifecycle.ts), tested from source:
// pure, no build and no processes needed.
import { describe, expect, it } from 'vitest';
import { can, describeState, reduceContainerState, refusal, stopIsNoop, type ContainerState } from '../src/core/lifecycle.js';

const alive = { processAlive: true, podRunning: true };

describe('container lifecycle', () => {
  it('reads the state from the record and what is alive now', () => {
    expect(reduceContainerState('running', alive)).toBe('running');
    expect(reduceContainerState('running', { ...alive, processAlive: false })).toBe('exited');
    expect(reduceContainerState('stopping', { ...alive, processAlive: false })).toBe('exited');
    expect(reduceContainerState('restarting', { processAlive: false, podRunning: true })).toBe('restarting');
    // A pod that died under them: nothing will run or restart them again.
    for (const s of ['running', 'restarting', 'created', 'stopping'] as ContainerState[]) expect(reduceContainerState(s, { processAlive: true, podRunning: false })).toBe('exited');
    expect(reduceContainerState('exited', alive)).toBe('exited');
  });

  it('allows each verb only where it means something, and names the state when it refuses', () => {
    expect(can('exec', 'running')).toBe(true);
    expect(can('exec', 'restarting')).toBe(false);
    expect(can('kill', 'restarting')).toBe(false);
    expect(can('stop', 'restarting')).toBe(true);
    expect(can('start', 'running')).toBe(false);
    expect(can('remove', 'running')).toBe(false);
    expect(can('remove', 'exited')).toBe(true);
    expect(refusal('exec', 'restarting', 'web/app')).toEqual({ message: 'cannot exec in container web/app: it is restarting', hint: 'start it with `nsbox start web/app`, or run a new one with `nsbox run --pod web`' });
    expect(refusal('remove', 'running', 'web/app')?.hint).toBe('stop it first, or use `nsbox rm -f web/app`');
    expect(refusal('exec', 'running', 'web/app')).toBeNull();
  });

  it('stopping what is not running does nothing (as podman and docker)', () => {
    expect(stopIsNoop('exited')).toBe(true);
    expect(stopIsNoop('created')).toBe(true);
    expect(stopIsNoop('running')).toBe(false);
    expect(stopIsNoop('restarting')).toBe(false);
  });

  it("prints podman's STATUS words", () => {
    expect(describeState('running', null)).toBe('Up');
    expect(describeState('exited', 3)).toBe('Exited (3)');
    expect(describeState('restarting', 1)).toBe('Restarting (1)');
    expect(describeState('created', null)).toBe('Created');
  });
});
