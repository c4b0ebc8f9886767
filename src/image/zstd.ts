// A streaming zstd decoder: Node's own where it has one (22.15+), else fzstd
// (pure JavaScript, maintained, streaming, no native build: Node 20 has no
// zstd, and a native addon would need a compiler or a prebuilt binary on
// every machine nsbox installs on).
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';

type ZlibWithZstd = { createZstdDecompress?: (opts?: object) => Transform };

export function createZstdDecoder(): Transform {
  const builtIn = (zlib as unknown as ZlibWithZstd).createZstdDecompress;
  if (typeof builtIn === 'function') return builtIn({ chunkSize: 256 * 1024 });
  let out: Transform;
  const decoder = new Decompress((chunk) => {
    out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  });
  out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        decoder.push(chunk);
        cb();
      } catch (err) {
        cb(new Error(`corrupt zstd data (${(err as Error).message})`));
      }
    },
    flush(cb) {
      try {
        decoder.push(new Uint8Array(0), true);
        cb();
      } catch (err) {
        cb(new Error(`corrupt zstd data (${(err as Error).message})`));
      }
    },
  });
  return out;
}
