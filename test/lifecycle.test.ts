// The container and pod state machines (src/core/lifecycle.ts), tested from source:
// pure, no build and no processes needed.
import { describe, expect, it } from 'vitest';
import { can, canPod, describeState, podRefusal, reduceContainerState, reducePodState, refusal, stopIsNoop, type ContainerState } from '../src/core/lifecycle.js';

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

describe('pod lifecycle', () => {
  it('reads the state from what is alive: the pause, then its keeper', () => {
    expect(reducePodState({ pauseAlive: true, keeperAlive: true })).toBe('running');
    expect(reducePodState({ pauseAlive: true, keeperAlive: false })).toBe('degraded');
    expect(reducePodState({ pauseAlive: false, keeperAlive: true })).toBe('exited');
  });

  it('allows each verb only where it can work, and refuses naming the state and the fix', () => {
    expect(canPod('run', 'running')).toBe(true);
    expect(canPod('run', 'degraded')).toBe(false);
    expect(canPod('exec', 'degraded')).toBe(true); // the pause's namespaces are still there
    expect(canPod('remove', 'exited')).toBe(true);
    expect(canPod('remove', 'running')).toBe(false);
    expect(canPod('stop', 'exited')).toBe(false);
    expect(podRefusal('run', 'running', 'web')).toBeNull();
    expect(podRefusal('run', 'degraded', 'web')).toEqual({ code: 'POD_NOT_RUNNING', message: 'pod web is not running (status degraded)', hint: 'remove it with `nsbox pod rm web` and create it again' });
    expect(podRefusal('remove', 'running', 'web')).toEqual({ code: 'POD_RUNNING', message: 'pod web is running', hint: 'stop it first or use `nsbox pod rm -f web`' });
    expect(podRefusal('stop', 'exited', 'web')).toEqual({ code: 'POD_NOT_RUNNING', message: 'pod web is already stopped', hint: 'remove it with `nsbox pod rm web`' });
  });
});
