// The environment the suite claims to run in: scripts/test.mjs runs it once
// rootless (an unprivileged user, NSBOX_TEST_MODE=rootless) and once as root.
// These checks make that claim verifiable from the test output.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testMode } from './helpers/env.js';

const HOST_MAPPING = '0 0 4294967295';

function idMap(file: 'uid_map' | 'gid_map'): string {
  return readFileSync(`/proc/self/${file}`, 'utf8').trim().split(/\s+/).join(' ');
}

function capEff(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
  if (!line) throw new Error('no CapEff line in /proc/self/status');
  return BigInt(`0x${line.slice('CapEff:'.length).trim()}`);
}

function onPath(cmd: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return null;
}

describe(`CI environment (${testMode})`, () => {
  it('the declared mode matches the uid', () => {
    if (testMode === 'rootless') {
      expect(process.getuid!()).not.toBe(0);
      expect(process.geteuid!()).not.toBe(0);
    } else {
      expect(process.getuid!()).toBe(0);
    }
  });

  it.runIf(testMode === 'rootless')('rootless: the host user namespace with the full mapping and no capabilities', () => {
    // Not root inside some user namespace of its own: the initial namespace.
    expect(idMap('uid_map')).toBe(HOST_MAPPING);
    expect(idMap('gid_map')).toBe(HOST_MAPPING);
    expect(capEff()).toBe(0n);
  });

  it.runIf(testMode === 'rootless')('rootless: newuidmap and newgidmap are installed', () => {
    expect(onPath('newuidmap'), 'newuidmap (Debian: apt-get install uidmap)').not.toBeNull();
    expect(onPath('newgidmap'), 'newgidmap (Debian: apt-get install uidmap)').not.toBeNull();
  });
});
