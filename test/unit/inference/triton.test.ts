import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import { ModelConfigSchema, StatisticsSchema } from '../../../src/http/routes/v2/triton-schemas.ts';
import { printfF } from '../../../src/inference/classification.ts';
import {
  emptyStatistics,
  repositoryIndex,
  sumStatistics,
  tritonModelConfig,
  type InferenceBackend,
  type ModelInfo,
  type TritonModelStatistics,
} from '../../../src/inference/index.ts';
import { ModelStats } from '../../../src/inference/local/stats.ts';

const info = (over: Partial<ModelInfo> = {}): ModelInfo => ({
  name: 'm',
  version: '2',
  format: 'onnx',
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1000] }],
  labels: [],
  provider: 'cpu',
  input: { name: 'input', color: 'rgb', width: 224, height: 224, resize: 'stretch', mean: [0], std: [1] },
  output_kind: 'logits',
  batching: { max_batch_size: 16, max_queue_delay_ms: 2.5, max_queue_size: 100 },
  ...over,
});

describe("Triton's model configuration", () => {
  it('leaves the batch dimension out of dims and says what Loupe does', () => {
    const c = tritonModelConfig(info());
    assert.equal(c.max_batch_size, 16);
    assert.deepEqual(c.input[0]!.dims, [3, 224, 224]);
    assert.equal(c.input[0]!.format, 'FORMAT_NCHW');
    assert.deepEqual(c.output[0]!.dims, [1000]);
    assert.equal(c.dynamic_batching.max_queue_delay_microseconds, 2500);
    assert.equal(c.dynamic_batching.default_queue_policy.max_queue_size, 100);
    assert.deepEqual(
      c.instance_group.map((g) => [g.kind, g.count, g.gpus]),
      [['KIND_CPU', 1, []]],
    );
    assert.deepEqual(tritonModelConfig(info({ provider: 'cuda' })).instance_group[0]!.gpus, [0]);
    assert.equal(tritonModelConfig(info({ provider: 'coreml' })).instance_group[0]!.kind, 'KIND_MODEL');
    assert.ok(Value.Check(ModelConfigSchema, c), JSON.stringify([...Value.Errors(ModelConfigSchema, c)][0]));
  });
});

describe('repository index', () => {
  const backend = {
    listModels: () => [info({ name: 'b', version: '10' }), info({ name: 'b', version: '9' }), info({ name: 'a' })],
    readiness: () => ({
      ready: true,
      models: [],
      problems: [
        { name: 'b', version: '11', path: '/s/b/11', error: 'model.onnx is missing' },
        { name: 'c', path: '/s/c', error: 'model.json is not valid JSON' },
      ],
    }),
  } as unknown as InferenceBackend;

  it('lists ready versions and store problems, by name then version', () => {
    assert.deepEqual(repositoryIndex(backend, false), [
      { name: 'a', version: '2', state: 'READY' },
      { name: 'b', version: '9', state: 'READY' },
      { name: 'b', version: '10', state: 'READY' },
      { name: 'b', version: '11', state: 'UNAVAILABLE', reason: 'model.onnx is missing' },
      { name: 'c', state: 'UNAVAILABLE', reason: 'model.json is not valid JSON' },
    ]);
    assert.deepEqual(
      repositoryIndex(backend, true).map((e) => `${e.name}/${e.version}`),
      ['a/2', 'b/9', 'b/10'],
    );
  });
});

describe('statistics', () => {
  it('a recorder counts requests once and samples per run', () => {
    const s = new ModelStats('m', '1');
    s.batch(4, { inputMs: 0.01, inferMs: 2, outputMs: 0.001 });
    s.batch(1, { inputMs: 0.01, inferMs: 1, outputMs: 0.001 });
    s.batch(4, { inputMs: 0.02, inferMs: 3, outputMs: 0.002 });
    s.success({ totalMs: 5, inputMs: 1, queueMs: 0.5, inferMs: 3, outputMs: 0.25 });
    s.failure(0.75);
    const snap = s.snapshot();
    assert.equal(snap.inference_count, 9);
    assert.equal(snap.execution_count, 3);
    assert.deepEqual(snap.inference_stats.success, { count: 1, ns: 5_000_000 });
    assert.deepEqual(snap.inference_stats.compute_output, { count: 1, ns: 250_000 });
    assert.deepEqual(snap.inference_stats.fail, { count: 1, ns: 750_000 });
    assert.deepEqual(
      snap.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_infer.ns]),
      [
        [1, 1, 1_000_000],
        [4, 2, 5_000_000],
      ],
    );
    assert.ok(Value.Check(StatisticsSchema, { model_stats: [snap] }));
    // A snapshot is a copy.
    s.failure(1);
    assert.equal(snap.inference_stats.fail.count, 1);
  });

  it("a gateway adds its replicas' statistics up, per version and batch size", () => {
    const one = (version: string, n: number, last: number): TritonModelStatistics => {
      const s = new ModelStats('m', version);
      for (let i = 0; i < n; i++) {
        s.batch(i + 1, { inputMs: 1, inferMs: 1, outputMs: 1 });
        s.success({ totalMs: 1, inputMs: 1, queueMs: 1, inferMs: 1, outputMs: 1 });
      }
      return { ...s.snapshot(), last_inference: last };
    };
    const sum = sumStatistics([[one('1', 2, 100), one('2', 1, 50)], [one('1', 3, 300)], [emptyStatistics('a', '1')]]);
    assert.deepEqual(
      sum.map((s) => [s.name, s.version]),
      [
        ['a', '1'],
        ['m', '1'],
        ['m', '2'],
      ],
    );
    const m1 = sum[1]!;
    assert.equal(m1.inference_stats.success.count, 5);
    assert.equal(m1.inference_stats.success.ns, 5_000_000);
    assert.equal(m1.execution_count, 5);
    assert.equal(m1.inference_count, 1 + 2 + 1 + 2 + 3);
    assert.equal(m1.last_inference, 300);
    assert.deepEqual(
      m1.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [
        [1, 2],
        [2, 2],
        [3, 1],
      ],
    );
  });
});

describe('classification scores', () => {
  const values = [9.81, 0.0078125, -0.0078125, 0.0234375, 1 / 3, -1e-9, -0, 0, 1e21, 3.4e38, 2.5e-7, 1.5e-6, 123456.5];
  // What glibc's printf("%f") prints for each (checked with a C program).
  const expected = [
    '9.810000',
    '0.007812', // a tie: glibc rounds to even, JavaScript's toFixed would say 0.007813
    '-0.007812',
    '0.023438',
    '0.333333',
    '-0.000000',
    '-0.000000',
    '0.000000',
    '1000000000000000000000.000000',
    '339999999999999996123846586046231871488.000000',
    '0.000000',
    '0.000002',
    '123456.500000',
  ];

  it('are printed as C\'s "%f" prints them (Triton: std::to_string)', () => {
    assert.deepEqual(values.map(printfF), expected);
    assert.deepEqual([NaN, Infinity, -Infinity].map(printfF), ['nan', 'inf', '-inf']);
  });
});
