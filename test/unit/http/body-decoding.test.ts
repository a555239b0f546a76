import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import zlib from 'node:zlib';
import { LoupeError } from '../../../src/errors.ts';
import { bodyEncoding, decodeBody } from '../../../src/http/body-decoding.ts';

const MiB = 1024 * 1024;

/** An encoded body arriving in 16 KiB pieces, counting what has been read of it. */
function arriving(bytes: Buffer) {
  let read = 0;
  const pieces = Array.from({ length: Math.ceil(bytes.length / 16384) }, (_, i) =>
    bytes.subarray(i * 16384, (i + 1) * 16384),
  );
  const stream = Readable.from(
    (function* () {
      for (const p of pieces) {
        read += p.length;
        yield p;
      }
    })(),
  ) as Readable & { received: number };
  Object.defineProperty(stream, 'received', { get: () => read });
  return { stream, read: () => read, total: bytes.length };
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('request body decoding', () => {
  it('knows gzip, deflate and identity, and refuses the rest with 415', () => {
    assert.equal(bodyEncoding(undefined), 'identity');
    assert.equal(bodyEncoding(' GZIP '), 'gzip');
    assert.equal(bodyEncoding('x-gzip'), 'gzip');
    assert.equal(bodyEncoding('deflate'), 'deflate');
    for (const e of ['br', 'zstd', 'gzip, gzip', 'compress'])
      assert.throws(
        () => bodyEncoding(e),
        (err: unknown) => err instanceof LoupeError && err.code === 'UNSUPPORTED_MEDIA_TYPE',
      );
  });

  it('decodes gzip and deflate, telling Fastify the encoded length', async () => {
    const body = Buffer.from(JSON.stringify({ inputs: Array(1000).fill({ a: 1 }) }));
    for (const [encoding, encoded] of [
      ['gzip', zlib.gzipSync(body)],
      ['deflate', zlib.deflateSync(body)],
    ] as const) {
      const src = arriving(encoded);
      const seen: number[] = [];
      const out = decodeBody(src.stream, encoding, (n) => seen.push(n));
      assert.deepEqual(await readAll(out), body);
      assert.equal(seen.at(-1), body.length);
      assert.equal((out as unknown as { receivedEncodedLength: number }).receivedEncodedLength, encoded.length);
    }
  });

  it('stops a compression bomb at the limit, without reading or inflating the rest', async () => {
    const encoded = zlib.gzipSync(Buffer.alloc(256 * MiB), { level: 9 });
    const src = arriving(encoded);
    let decoded = 0;
    const limit = MiB;
    const out = decodeBody(src.stream, 'gzip', (n) => {
      decoded = n;
      if (n > limit) throw new LoupeError('PAYLOAD_TOO_LARGE', 'too large');
    });
    await assert.rejects(readAll(out), (err: unknown) => err instanceof LoupeError && err.code === 'PAYLOAD_TOO_LARGE');
    await tick();
    await tick();
    assert.ok(decoded > limit && decoded < limit + 128 * 1024, `decoded ${decoded}`);
    assert.ok(src.read() < src.total / 2, `read ${src.read()} of ${src.total} encoded bytes`);
  });

  it('corrupt data is a 400 that says so', async () => {
    const gz = zlib.gzipSync(Buffer.from('hello, world'));
    for (const bad of [gz.subarray(0, gz.length - 4), Buffer.from('not gzip at all')]) {
      await assert.rejects(
        readAll(decodeBody(arriving(bad).stream, 'gzip', () => undefined)),
        (err: unknown) =>
          err instanceof LoupeError &&
          err.code === 'BAD_REQUEST' &&
          /gzip-encoded request body could not be decoded/.test(err.message),
      );
    }
  });
});
