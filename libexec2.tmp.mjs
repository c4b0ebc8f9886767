import * as lib from './dist/index.js';
const root = '/tmp/r2';
const pod = await lib.createPod({ root, name: 'lx' + process.pid });
for (let i = 0; i < 20; i++) await pod.exec(['/bin/true']);
globalThis.__T = [];
const s = performance.now();
for (let i = 0; i < 200; i++) await pod.exec(['/bin/true']);
console.log('avg', ((performance.now() - s) / 200).toFixed(2));
await pod.remove({ force: true });
