import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { json, startServe, type TestServer } from '../helpers/server.ts';

const DATASET = '/usr/share/datasets/fashion-mnist';
const STORE = path.resolve(import.meta.dirname, '../../model-store');
const MODEL = path.join(STORE, 'fashion-mnist');

function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const buf = gunzipSync(readFileSync(path.join(DATASET, file)));
  const ndim = buf[3]!;
  const dims = Array.from({ length: ndim }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  return { dims, data: buf.subarray(4 + 4 * ndim) };
}

const haveData = existsSync(path.join(DATASET, 't10k-images-idx3-ubyte.gz'));
if (!haveData && process.env.CI) throw new Error(`${DATASET} is missing: CI must install dataset-fashion-mnist`);

// The committed default model through Loupe's own path (PNG decode → preprocess → ONNX
// Runtime) over HTTP must score what training measured: proof that serving preprocessing
// matches training.
describe(
  'default model parity with training',
  { skip: haveData ? false : `${DATASET} not installed (apt-get install dataset-fashion-mnist)` },
  () => {
    let srv: TestServer;
    before(async () => {
      // One client sending 10,000 images as fast as it can: per-client rate limits off.
      srv = await startServe({ LOUPE_MODEL_STORE: STORE, LOUPE_RATE_LIMIT_PER_MINUTE: '0' });
    });
    after(() => srv?.stop());

    it('accuracy on the 10,000 Fashion-MNIST test images, sent as PNG files, equals metrics.json within 0.2 points', async () => {
      const version = readdirSync(MODEL)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(a) - Number(b))
        .at(-1)!;
      const metrics = JSON.parse(readFileSync(path.join(MODEL, version, 'metrics.json'), 'utf8')) as {
        test_accuracy: number;
      };
      const images = readIdx('t10k-images-idx3-ubyte.gz');
      const labels = readIdx('t10k-labels-idx1-ubyte.gz');
      const n = images.dims[0]!;
      const side = 28 * 28;
      let correct = 0;
      let next = 0;
      const worker = async () => {
        while (next < n) {
          const i = next++;
          const png = await sharp(Buffer.from(images.data.subarray(i * side, (i + 1) * side)), {
            raw: { width: 28, height: 28, channels: 1 },
          })
            .png()
            .toBuffer();
          const res = await fetch(`${srv.url}/predict?top_k=1&version=${version}`, {
            method: 'POST',
            body: png,
            headers: { 'content-type': 'image/png' },
          });
          const body = await json(res);
          assert.equal(res.status, 200, JSON.stringify(body));
          if (body.predictions[0].index === labels.data[i]) correct++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const accuracy = correct / n;
      const gap = Math.abs(accuracy - metrics.test_accuracy) * 100;
      assert.ok(
        gap <= 0.2,
        `served accuracy ${(accuracy * 100).toFixed(2)}% vs training's ${(metrics.test_accuracy * 100).toFixed(2)}% (gap ${gap.toFixed(2)} points)`,
      );
    });
  },
);
