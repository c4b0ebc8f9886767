// Loaded into nsbox's Node processes with NODE_OPTIONS=--require by
// supervisor-gate.ts. In a pod supervisor only, and only when
// NSBOX_TEST_GATE names a directory: it writes `started` (its pid) there and
// waits, before any of the supervisor's own code runs, until the test writes
// `go`. That holds a supervisor at a known point without changing it.
const { existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.NSBOX_TEST_GATE;
if (dir && (process.argv[1] || '').endsWith('nsbox-supervisor.mjs')) {
  writeFileSync(join(dir, 'started'), String(process.pid));
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 60_000; // never hold a supervisor forever
  while (!existsSync(join(dir, 'go')) && Date.now() < deadline) Atomics.wait(cell, 0, 0, 5);
}
