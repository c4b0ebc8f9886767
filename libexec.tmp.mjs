import * as lib from './dist/index.js';
const root = '/tmp/r2';
const pod = await lib.createPod({ root, name: 'lx' + process.pid });
const t = [];
for (let i = 0; i < 40; i++) { const s = performance.now(); const r = await pod.exec(['/bin/true']); t.push(performance.now() - s); if (r.exitCode) throw new Error('x'); }
t.sort((a, b) => a - b); console.log('median', t[20].toFixed(2), 'min', t[0].toFixed(2));
if (process.argv[2] === 'prof') { const { Session } = await import('node:inspector'); }
await pod.remove({ force: true });
