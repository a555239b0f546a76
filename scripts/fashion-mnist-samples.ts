// The bundled model's own evidence, from the Fashion-MNIST test set (Debian's dataset-fashion-mnist):
//   1. its test accuracy, measured through Loupe's own preprocessing (PNG bytes → preprocess →
//      ONNX Runtime), so the number the page shows is what the server does, not only what
//      PyTorch saw at training time;
//   2. the sample images the page offers: the first test image of a few classes, as PNG.
// Usage: node scripts/fashion-mnist-samples.ts [dataset dir] (default /usr/share/datasets/fashion-mnist)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { preprocess } from '../src/images/index.ts';
import { readEntry, type ModelEntry } from '../src/models/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DATA = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const MODEL_DIR = path.join(ROOT, 'model-store', 'fashion-mnist');
/** One of each look: tops, trousers, a dress, shoes, a bag. */
const SAMPLE_CLASSES = [0, 1, 3, 7, 8, 9];

function idx(file: string, header: number): Buffer {
  return gunzipSync(readFileSync(path.join(DATA, file))).subarray(header);
}

const entry = readEntry(MODEL_DIR, 'fashion-mnist', '1', path.join(MODEL_DIR, '1')) as ModelEntry;
if ('error' in entry) throw new Error(String(entry.error));
const images = idx('t10k-images-idx3-ubyte.gz', 16);
const labels = idx('t10k-labels-idx1-ubyte.gz', 8);
const n = labels.length;
const pixels = 28 * 28;
const png = (i: number) =>
  sharp(images.subarray(i * pixels, (i + 1) * pixels), { raw: { width: 28, height: 28, channels: 1 } })
    .png({ compressionLevel: 9 })
    .toBuffer();

const session = await ort.InferenceSession.create(entry.onnxPath);
const batch = 500;
let correct = 0;
for (let start = 0; start < n; start += batch) {
  const count = Math.min(batch, n - start);
  const input = new Float32Array(count * pixels);
  for (let j = 0; j < count; j++) {
    const pre = await preprocess(await png(start + j), entry.config.input, { maxPixels: 1e6 });
    input.set(pre.tensor, j * pixels);
  }
  const out = await session.run({ [entry.config.input.name]: new ort.Tensor('float32', input, [count, 1, 28, 28]) });
  const scores = out[session.outputNames[0]!]!.data as Float32Array;
  for (let j = 0; j < count; j++) {
    const row = scores.subarray(j * 10, (j + 1) * 10);
    if (row.indexOf(Math.max(...row)) === labels[start + j]) correct++;
  }
}
console.log(`test accuracy through Loupe's preprocessing: ${correct}/${n} = ${((100 * correct) / n).toFixed(2)} %`);

const out = path.join(MODEL_DIR, 'samples');
mkdirSync(out, { recursive: true });
for (const c of SAMPLE_CLASSES) {
  const i = labels.indexOf(c);
  const slug = entry.labels[c]!.toLowerCase().replace(/[^a-z]+/g, '-');
  const file = `${slug}.png`;
  writeFileSync(path.join(out, file), await png(i));
  console.log(`samples/${file}: test image ${i} (${entry.labels[c]})`);
}
