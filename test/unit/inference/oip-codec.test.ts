import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeInferRequest,
  decodeInferResponse,
  decodeInput,
  encodeBytesElements,
  encodeInferRequest,
  encodeInferResponse,
  encodeOutputs,
  float32FromBytes,
  softmax,
  topIndices,
} from '../../../src/inference/index.ts';

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
    const bin = decodeInput({
      name: 'img',
      shape: [2, 1],
      datatype: 'BYTES',
      binary: encodeBytesElements(['ab', 'cde']),
    });
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
        // As Triton prints them (C's "%f" of the float value).
        data: ['0.700000:1:b', '0.200000:2:c', '0.500000:0:a', '0.250000:1:b'],
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
    const req = decodeInferRequest(Buffer.concat([header, Buffer.from(data.buffer)]), header.length);
    const decoded = decodeInput(req.inputs[0]!);
    assert.ok(decoded.kind === 'tensor');
    assert.deepEqual([...decoded.data], [...data]);
    const outputs = encodeOutputs(req, 'y', data, 3, ['a', 'b', 'c', 'd']);
    const { body, headerLength } = encodeInferResponse({ model_name: 'm', outputs });
    assert.ok(Buffer.isBuffer(body) && headerLength !== undefined);
    const json = JSON.parse(body.subarray(0, headerLength).toString()) as {
      outputs: Array<{ parameters: { binary_data_size: number }; data?: unknown }>;
    };
    assert.equal(json.outputs[0]!.parameters.binary_data_size, 48);
    assert.equal(json.outputs[0]!.data, undefined);
    const back = new Float32Array(body.buffer.slice(body.byteOffset + headerLength, body.byteOffset + body.length));
    assert.deepEqual([...back], [...data]);
    assert.throws(() => decodeInferRequest(Buffer.concat([header, Buffer.alloc(40)]), header.length), /overruns/);
    assert.throws(() => decodeInferRequest(header, header.length + 5), /does not fit/);
    assert.throws(() => decodeInferRequest(Buffer.concat([header, Buffer.alloc(52)]), header.length), /4 bytes after/);
    // The client side reads what the server side wrote, and writes what the server reads.
    const back2 = decodeInferResponse(body, headerLength);
    assert.deepEqual([...float32FromBytes(back2.outputs[0]!.binary!)], [...data]);
    const sent = encodeInferRequest({
      inputs: [{ name: 'x', shape: [1, 3, 2, 2], datatype: 'FP32', binary: new Uint8Array(data.buffer) }],
    });
    const received = decodeInferRequest(sent.body, sent.headerLength);
    assert.equal(received.inputs[0]!.parameters?.binary_data_size, 48);
    assert.deepEqual([...(decodeInput(received.inputs[0]!) as { data: Float32Array }).data], [...data]);
    // A `binary` key from a JSON body is not bytes: it is dropped, never framed.
    const forged = encodeInferRequest({
      inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1], binary: 'zz' as unknown as Uint8Array }],
    });
    assert.equal(forged.headerLength, undefined);
    assert.equal(JSON.parse(forged.body.toString()).inputs[0].binary, undefined);
    // More BYTES elements than the shape says are refused as they are counted.
    const many = Buffer.concat(Array.from({ length: 5 }, () => Buffer.alloc(4)));
    assert.throws(
      () => decodeInput({ name: 'img', shape: [2], datatype: 'BYTES', binary: many }),
      /more BYTES elements/,
    );
    const plain = encodeInferRequest({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    assert.equal(plain.headerLength, undefined);
    assert.deepEqual(decodeInferRequest(plain.body, undefined).inputs[0]!.data, [1]);
  });

  it('refuses hostile shapes and data before allocating', () => {
    const huge = (shape: number[]) => decodeInput({ name: 'x', shape, datatype: 'FP32', data: [1, 2, 3] });
    assert.throws(() => huge([4294967297, 1, 28, 28]), /data has 3 elements/);
    assert.throws(() => huge([1e12]), /data has 3 elements/);
    assert.throws(() => huge([2 ** 30, 2 ** 30]), /too many elements/);
    assert.throws(() => decodeInput({ name: 'x', shape: [0], datatype: 'BYTES', data: [] }), /no elements/);
    let deep: unknown = [1];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    assert.throws(() => decodeInput({ name: 'x', shape: [1], datatype: 'FP32', data: deep }), /nested deeper/);
    // `binary` set from a JSON body is ignored: only the framing gives tensors their bytes.
    assert.throws(
      () => decodeInput({ name: 'x', shape: [1], datatype: 'BYTES', binary: 'AAAA' as unknown as Uint8Array }),
      /data must be an array/,
    );
  });

  it('a body that is not a message (not JSON, a header length that does not fit) is BAD_REQUEST, as invalid protobuf is over gRPC', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'no error';
    };
    const header = Buffer.from('{"inputs": []}');
    assert.equal(
      code(() => decodeInferRequest(Buffer.from('{"inputs": ['), undefined)),
      'BAD_REQUEST',
    );
    assert.equal(
      code(() => decodeInferRequest(header, 5000)),
      'BAD_REQUEST',
    );
    assert.equal(
      code(() => decodeInferRequest(Buffer.from('{"inp'), 3)),
      'BAD_REQUEST',
    );
    assert.equal(
      code(() => decodeInferRequest(Buffer.from('42'), 2)),
      'BAD_REQUEST',
    );
    // A message that reads, with tensors that do not fit its bytes, stays INVALID_TENSOR.
    const overrun = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', parameters: { binary_data_size: 9 } }] }));
    assert.equal(
      code(() => decodeInferRequest(overrun, overrun.length)),
      'INVALID_TENSOR',
    );
  });

  it('softmax and top-k', () => {
    const p = softmax(Float32Array.of(1, 2, 3));
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.deepEqual(topIndices(p, 2), [2, 1]);
    assert.deepEqual(topIndices([0.5, 0.5, 0.1], 2), [0, 1]);
  });
});
