import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInput, encodeOutputs, encodeBinaryBytes, softmax, topIndices } from '../../../src/inference/index.ts';
import { encodeResponse, splitBinaryRequest } from '../../../src/http/routes/v2/binary.ts';

describe('OIP codec', () => {
  it('accepts flat and nested FP32 data and checks it against the shape', () => {
    const flat = decodeInput({ name: 'x', shape: [1, 2, 2], datatype: 'FP32', data: [1, 2, 3, 4] });
    const nested = decodeInput({
      name: 'x',
      shape: [1, 2, 2],
      datatype: 'FP32',
      data: [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    });
    assert.equal(flat.kind, 'tensor');
    assert.deepEqual(flat, nested);
    assert.throws(
      () => decodeInput({ name: 'x', shape: [1, 2, 2], datatype: 'FP32', data: [1, 2, 3] }),
      /3 elements; shape \[1,2,2\] needs 4/,
    );
    assert.throws(() => decodeInput({ name: 'x', shape: [2], datatype: 'FP32', data: [1, 'a'] }), /non-numeric/);
    assert.throws(() => decodeInput({ name: 'x', shape: [2], datatype: 'INT64', data: [1, 2] }), /not supported/);
    assert.throws(() => decodeInput({ name: 'x', shape: [-1], datatype: 'FP32', data: [] }), /non-negative/);
  });

  it('BYTES inputs carry base64 images, in JSON or binary form', () => {
    const json = decodeInput({
      name: 'img',
      shape: [2],
      datatype: 'BYTES',
      data: [Buffer.from('ab').toString('base64'), Buffer.from('cde').toString('base64')],
    });
    assert.ok(json.kind === 'images');
    assert.deepEqual(
      json.images.map((b) => Buffer.from(b).toString()),
      ['ab', 'cde'],
    );
    const bin = decodeInput({ name: 'img', shape: [2, 1], datatype: 'BYTES' }, encodeBinaryBytes(['ab', 'cde']));
    assert.ok(bin.kind === 'images');
    assert.deepEqual(
      bin.images.map((b) => Buffer.from(b).toString()),
      ['ab', 'cde'],
    );
    assert.throws(() => decodeInput({ name: 'img', shape: [3], datatype: 'BYTES', data: ['YQ=='] }), /says 3 element/);
    assert.throws(() => decodeInput({ name: 'img', shape: [1], datatype: 'BYTES', data: ['***'] }), /not valid base64/);
  });

  it('classification extension returns "<score>:<index>:<label>" strings, top first', () => {
    const scores = Float32Array.of(0.1, 0.7, 0.2, 0.5, 0.25, 0.25);
    const out = encodeOutputs(
      { inputs: [], outputs: [{ name: 'y', parameters: { classification: 2 } }] },
      'y',
      scores,
      2,
      ['a', 'b', 'c'],
    );
    assert.deepEqual(out, [
      {
        name: 'y',
        shape: [2, 2],
        datatype: 'BYTES',
        data: [`${Math.fround(0.7)}:1:b`, `${Math.fround(0.2)}:2:c`, '0.5:0:a', '0.25:1:b'],
      },
    ]);
    assert.throws(
      () => encodeOutputs({ inputs: [], outputs: [{ name: 'z' }] }, 'y', scores, 2, ['a', 'b', 'c']),
      /unknown output "z"/,
    );
  });

  it('binary requests and responses round-trip exactly', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i / 7);
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'x', shape: [1, 3, 2, 2], datatype: 'FP32', parameters: { binary_data_size: 48 } }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    );
    const req = splitBinaryRequest(Buffer.concat([header, Buffer.from(data.buffer)]), header.length);
    const decoded = decodeInput(req.inputs[0]!, req.binaryInputs?.get('x'));
    assert.ok(decoded.kind === 'tensor');
    assert.deepEqual([...decoded.data], [...data]);
    const outputs = encodeOutputs(req, 'y', data, 3, ['a', 'b', 'c', 'd']);
    const { body, headerLength } = encodeResponse({ model_name: 'm', outputs });
    assert.ok(Buffer.isBuffer(body) && headerLength !== undefined);
    const json = JSON.parse(body.subarray(0, headerLength).toString()) as {
      outputs: Array<{ parameters: { binary_data_size: number }; data?: unknown }>;
    };
    assert.equal(json.outputs[0]!.parameters.binary_data_size, 48);
    assert.equal(json.outputs[0]!.data, undefined);
    const back = new Float32Array(body.buffer.slice(body.byteOffset + headerLength, body.byteOffset + body.length));
    assert.deepEqual([...back], [...data]);
    assert.throws(() => splitBinaryRequest(Buffer.concat([header, Buffer.alloc(40)]), header.length), /overruns/);
    assert.throws(() => splitBinaryRequest(header, header.length + 5), /does not fit/);
  });

  it('softmax and top-k', () => {
    const p = softmax(Float32Array.of(1, 2, 3));
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.deepEqual(topIndices(p, 2), [2, 1]);
    assert.deepEqual(topIndices([0.5, 0.5, 0.1], 2), [0, 1]);
  });
});
