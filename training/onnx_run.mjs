// Runs an ONNX graph once with onnxruntime-node: used by the Python exporters to verify an
// export where Python's onnxruntime is not installed. Usage: node onnx_run.mjs model.onnx in.json
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';

const [modelPath, inputPath] = process.argv.slice(2);
const { input, shape, data } = JSON.parse(readFileSync(inputPath, 'utf8'));
const session = await ort.InferenceSession.create(modelPath);
const out = await session.run({ [input]: new ort.Tensor('float32', Float32Array.from(data), shape) });
const first = out[session.outputNames[0]];
process.stdout.write(JSON.stringify({ dims: first.dims, data: Array.from(first.data) }));
