// Top-1 of an ONNX graph over many inputs with onnxruntime-node, as the servers run it: used by
// the Python tools to measure an export (e.g. the int8 twin's test accuracy) where Python's
// onnxruntime is not installed. Usage: node onnx_eval.mjs model.onnx input-name in.f32 N,C,H,W
// in.f32 holds N float32 tensors back to back; stdout is {"top1": [...]} (N class indices).
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, inputName, dataPath, dims] = process.argv.slice(2);
const [n, ...chw] = dims.split(',').map(Number);
const per = chw.reduce((a, b) => a * b, 1);
const buf = readFileSync(dataPath);
const all = new Float32Array(buf.buffer, buf.byteOffset, n * per);
const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: 'all' });
const top1 = [];
const BATCH = 256;
for (let i = 0; i < n; i += BATCH) {
  const b = Math.min(BATCH, n - i);
  const x = new ort.Tensor('float32', all.subarray(i * per, (i + b) * per), [b, ...chw]);
  const out = await session.run({ [inputName]: x });
  const y = out[session.outputNames[0]];
  const k = y.dims[1];
  for (let r = 0; r < b; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (y.data[r * k + c] > y.data[r * k + best]) best = c;
    top1.push(best);
  }
}
process.stdout.write(JSON.stringify({ top1 }));
