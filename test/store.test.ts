// The state store: records carry a schema version and are checked when
// read (a file that is not a record counts as missing, never as a pod), and
// a lookup by name goes through the name index, falling back to a scan when
// the index is stale. Pure file work: no pods are started.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findPod, listPodRecords, POD_RECORD_SCHEMA, validPodRecord, writePodRecord } from '../dist/pod/store.js';
import { CONTAINER_SCHEMA, readContainerRecord, writeContainerSpec, writeContainerStatus, CREATED } from '../dist/container/record-store.js';
import type { PodRecord } from '../dist/pod/record.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'nsbox-store-'));
  dirs.push(d);
  mkdirSync(join(d, 'pods'));
  return d;
}

const id = (c: string) => c.repeat(64);

function record(name: string, idChar: string): PodRecord {
  return {
    id: id(idChar),
    name,
    hostname: name,
    createdAt: new Date().toISOString(),
    mapping: 'full',
    pause: { pid: 1, startTime: '1' },
    supervisor: { pid: 1, startTime: '1', mode: 'detached' },
    autoRemove: false,
    ports: [],
    network: 'builtin',
  };
}

describe('pod records', () => {
  it('are written with their schema and read back', () => {
    const r = root();
    writePodRecord(r, record('web', 'a'));
    expect(JSON.parse(readFileSync(join(r, 'pods', id('a'), 'pod.json'), 'utf8')).schema).toBe(POD_RECORD_SCHEMA);
    expect(listPodRecords(r).map((p) => p.name)).toEqual(['web']);
    expect(findPod(r, 'web').id).toBe(id('a'));
  });

  it('that are not records count as missing: another schema, a bad id or name, a missing pause', () => {
    const good = record('web', 'a');
    expect(validPodRecord({ schema: POD_RECORD_SCHEMA, ...good })).not.toBeNull(); // the control
    expect(validPodRecord(good)).not.toBeNull(); // older records have no schema
    expect(validPodRecord({ ...good, schema: POD_RECORD_SCHEMA + 1 })).toBeNull();
    expect(validPodRecord({ ...good, id: '../../etc' })).toBeNull();
    expect(validPodRecord({ ...good, name: '../x' })).toBeNull();
    expect(validPodRecord({ ...good, pause: { pid: 'x' } })).toBeNull();
    expect(validPodRecord({ ...good, supervisor: { ...good.supervisor, mode: 'other' } })).toBeNull();
    const r = root();
    writePodRecord(r, good);
    mkdirSync(join(r, 'pods', id('b')));
    writeFileSync(join(r, 'pods', id('b'), 'pod.json'), JSON.stringify({ ...record('db', 'b'), schema: 99 }));
    expect(listPodRecords(r).map((p) => p.name)).toEqual(['web']);
    expect(() => findPod(r, 'db')).toThrow(/no such pod: db/);
  });

  it('are found by name through the index, which a stale or foreign link cannot mislead', () => {
    const r = root();
    writePodRecord(r, record('web', 'a'));
    writePodRecord(r, record('db', 'b'));
    expect(findPod(r, 'db').id).toBe(id('b'));
    // A corrupt neighbour does not matter to a lookup by name (one record is read).
    writeFileSync(join(r, 'pods', id('a'), 'pod.json'), '{');
    expect(findPod(r, 'db').id).toBe(id('b'));
    // A link to a pod of another name is not believed: the scan decides.
    rmSync(join(r, 'names', 'db'));
    symlinkSync(id('a'), join(r, 'names', 'db'));
    writePodRecord(r, record('web', 'a'));
    expect(findPod(r, 'db').id).toBe(id('b'));
    // A dangling link falls back to the scan too.
    rmSync(join(r, 'names', 'db'));
    symlinkSync(id('c'), join(r, 'names', 'db'));
    expect(findPod(r, 'db').id).toBe(id('b'));
    // And an id prefix still works.
    expect(findPod(r, 'bbb').name).toBe('db');
  });
});

describe('container records', () => {
  const spec = {
    id: 'c'.repeat(64),
    name: 'c1',
    podId: id('a'),
    podName: 'web',
    image: { id: 'sha256:x', name: null, layers: [] },
    argv: ['sh'],
    env: [],
    workdir: '/',
    user: { uid: 0, gid: 0 },
    restart: { policy: 'no' as const },
    readOnly: false,
    rootfs: 'overlay' as const,
    createdAt: new Date().toISOString(),
  };

  it('merge the spec and the status, each with its schema; a status that is not one reads as created', () => {
    const d = root();
    const paths = { record: join(d, 'container.json'), status: join(d, 'state.json') };
    writeContainerSpec(paths, spec);
    expect(JSON.parse(readFileSync(paths.record, 'utf8')).schema).toBe(CONTAINER_SCHEMA);
    expect(readContainerRecord(paths)).toMatchObject({ name: 'c1', state: 'created' });
    writeContainerStatus(paths, { ...CREATED, state: 'exited', exitCode: 3, finishedAt: 'now' });
    expect(readContainerRecord(paths)).toMatchObject({ state: 'exited', exitCode: 3 });
    writeFileSync(paths.status, JSON.stringify({ schema: CONTAINER_SCHEMA, ...CREATED, state: 'flying' }));
    expect(readContainerRecord(paths)).toMatchObject({ state: 'created' });
    writeFileSync(paths.status, JSON.stringify({ schema: CONTAINER_SCHEMA + 1, ...CREATED, state: 'exited', exitCode: 0 }));
    expect(readContainerRecord(paths)).toMatchObject({ state: 'created' });
    writeFileSync(paths.record, JSON.stringify({ ...spec, user: null }));
    expect(readContainerRecord(paths)).toBeNull();
  });
});
