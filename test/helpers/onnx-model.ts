import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TinyModelOptions {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  /** Seeds the deterministic weights. */
  readonly seed?: number;
  readonly inputName?: string;
  readonly outputName?: string;
  /** Fix the batch dimension (to test validation); default symbolic "batch". */
  readonly fixedBatch?: number;
}

/**
 * A real ONNX graph for tests, written without Python: GlobalAveragePool → Flatten → Gemm,
 * so each class score is a known linear function of the per-channel means. Small, exact,
 * and it lets a test compute the expected logits itself.
 */
export function tinyModel(opts: TinyModelOptions): { bytes: Uint8Array; weights: number[][]; bias: number[] } {
  const { channels: c, classes: k } = opts;
  let s = opts.seed ?? 1;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const weights = Array.from({ length: c }, () => Array.from({ length: k }, () => rand() * 4));
  const bias = Array.from({ length: k }, () => rand());
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'logits';
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const valueInfo = (name: string, dims: Array<number | string>) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map(dim) } } },
  });
  const batch = opts.fixedBatch ?? 'batch';
  const graph = {
    name: 'tiny',
    node: [
      { opType: 'GlobalAveragePool', input: [inputName], output: ['pooled'] },
      {
        opType: 'Flatten',
        input: ['pooled'],
        output: ['flat'],
        attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
      { opType: 'Gemm', input: ['flat', 'W', 'B'], output: [outputName] },
    ],
    initializer: [
      { name: 'W', dims: [c, k], dataType: onnx.TensorProto.DataType.FLOAT, floatData: weights.flat() },
      { name: 'B', dims: [k], dataType: onnx.TensorProto.DataType.FLOAT, floatData: bias },
    ],
    input: [valueInfo(inputName, [batch, c, opts.height, opts.width])],
    output: [valueInfo(outputName, [batch, k])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'loupe-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  });
  return { bytes: onnx.ModelProto.encode(model).finish(), weights, bias };
}

export interface StoreModel extends TinyModelOptions {
  readonly name: string;
  readonly version?: string;
  readonly labels?: string[];
  readonly resize?: 'shorter-side-center-crop' | 'stretch';
  readonly resizeShorter?: number;
  readonly batching?: Record<string, number>;
  readonly kind?: 'logits' | 'probabilities';
}

/** Writes a model-store entry for a tiny model and returns its weights. */
export function writeStoreModel(
  store: string,
  m: StoreModel,
): { weights: number[][]; bias: number[]; labels: string[] } {
  const { bytes, weights, bias } = tinyModel(m);
  const dir = path.join(store, m.name, m.version ?? '1');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'model.onnx'), bytes);
  const labels = m.labels ?? Array.from({ length: m.classes }, (_, i) => `class-${i}`);
  writeFileSync(path.join(store, m.name, 'labels.txt'), labels.join('\n') + '\n');
  const gray = m.channels === 1;
  writeFileSync(
    path.join(store, m.name, 'model.json'),
    JSON.stringify(
      {
        name: m.name,
        input: {
          name: m.inputName ?? 'input',
          color: gray ? 'grayscale' : 'rgb',
          width: m.width,
          height: m.height,
          resize: m.resize ?? 'shorter-side-center-crop',
          ...(m.resizeShorter ? { resize_shorter: m.resizeShorter } : {}),
          mean: gray ? [0.5] : [0.485, 0.456, 0.406],
          std: gray ? [0.25] : [0.229, 0.224, 0.225],
        },
        output: { name: m.outputName ?? 'logits', kind: m.kind ?? 'logits' },
        ...(m.batching ? { batching: m.batching } : {}),
      },
      null,
      2,
    ),
  );
  return { weights, bias, labels };
}
