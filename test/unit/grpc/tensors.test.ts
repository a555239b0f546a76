import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LoupeError } from '../../../src/errors.ts';
import { decodeInput, encodeBytesElements } from '../../../src/inference/index.ts';
import type { ModelInferRequest } from '../../../src/grpc/messages.ts';
import { fromParameters, toInferResponse, toOipRequest, toParameters } from '../../../src/grpc/tensors.ts';

const request = (over: Partial<ModelInferRequest>): ModelInferRequest => ({
  model_name: 'm',
  model_version: '',
  id: '',
  parameters: {},
  inputs: [],
  outputs: [],
  raw_input_contents: [],
  ...over,
});
const fp32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);

describe('gRPC tensors ↔ OIP', () => {
  it('raw FP32 input: the bytes become the input, decoded as the HTTP binary extension decodes them', () => {
    const r = toOipRequest(
      request({
        id: 'r-1',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 2], parameters: {} }],
        raw_input_contents: [fp32([1.5, -2])],
      }),
    );
    assert.equal(r.id, 'r-1');
    assert.deepEqual(r.parameters, { binary_data_output: true });
    const d = decodeInput(r.inputs[0]!);
    assert.equal(d.kind, 'tensor');
    assert.deepEqual(d.kind === 'tensor' ? Array.from(d.data) : [], [1.5, -2]);
  });

  it('typed contents: fp32_contents as data, bytes_contents as BYTES elements', () => {
    const r = toOipRequest(
      request({
        inputs: [
          { name: 'input', datatype: 'FP32', shape: [2], parameters: {}, contents: { fp32_contents: [0.25, 4] } },
          {
            name: 'image',
            datatype: 'BYTES',
            shape: [2],
            parameters: {},
            contents: { bytes_contents: [Buffer.from('ab'), Buffer.from('cde')] },
          },
        ],
      }),
    );
    assert.deepEqual(r.inputs[0]!.data, [0.25, 4]);
    const images = decodeInput(r.inputs[1]!);
    assert.deepEqual(images.kind === 'images' ? images.images.map((b) => Buffer.from(b).toString()) : [], [
      'ab',
      'cde',
    ]);
  });

  it('refuses raw contents that do not match the inputs, or both forms at once', () => {
    const input = { name: 'input', datatype: 'FP32', shape: [1], parameters: {} };
    assert.throws(
      () => toOipRequest(request({ inputs: [input, { ...input, name: 'b' }], raw_input_contents: [fp32([1])] })),
      (e: LoupeError) => e.code === 'INVALID_TENSOR' && /1 entries for 2 input/.test(e.message),
    );
    assert.throws(
      () =>
        toOipRequest(
          request({ inputs: [{ ...input, contents: { fp32_contents: [1] } }], raw_input_contents: [fp32([1])] }),
        ),
      (e: LoupeError) => e.code === 'INVALID_TENSOR' && /both set/.test(e.message),
    );
  });

  it('outputs are asked for in binary form; classification comes from int64_param', () => {
    const r = toOipRequest(
      request({
        outputs: [
          { name: 'logits', parameters: { classification: { int64_param: 3, parameter_choice: 'int64_param' } } },
        ],
      }),
    );
    assert.deepEqual(r.outputs, [{ name: 'logits', parameters: { classification: 3, binary_data: true } }]);
  });

  it('responses: every output in raw_output_contents (binary as is, JSON data encoded), parameters typed', () => {
    const scores = fp32([0.5, 0.25]);
    const res = toInferResponse({
      model_name: 'm',
      model_version: '2',
      id: 'x',
      parameters: { loupe_image_width: 28, loupe_decode_ms: 1.5, loupe_image_format: 'png' },
      outputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 }, binary: scores },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [0.5, 0.25] },
        { name: 'c', datatype: 'BYTES', shape: [1, 1], data: ['0.5:0:cat'] },
      ],
    });
    assert.deepEqual(res.outputs[0], { name: 'a', datatype: 'FP32', shape: [1, 2], parameters: {} });
    assert.deepEqual(Buffer.from(res.raw_output_contents[0]!), scores);
    assert.deepEqual(Buffer.from(res.raw_output_contents[1]!), scores);
    assert.deepEqual(Buffer.from(res.raw_output_contents[2]!), encodeBytesElements(['0.5:0:cat']));
    assert.deepEqual(res.parameters, {
      loupe_image_width: { int64_param: 28 },
      loupe_decode_ms: { double_param: 1.5 },
      loupe_image_format: { string_param: 'png' },
    });
  });

  it('parameters round-trip through InferParameter', () => {
    const p = { a: true, b: 7, c: 'x', d: 0.5 };
    const wire = Object.fromEntries(
      Object.entries(toParameters(p)).map(([k, v]) => [
        k,
        { ...v, parameter_choice: Object.keys(v)[0] as 'bool_param' },
      ]),
    );
    assert.deepEqual(fromParameters(wire), p);
    assert.deepEqual(fromParameters({ unset: {} }), {});
  });
});
