import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inferenceService, MALFORMED } from '../../../src/grpc/proto.ts';
import { wireProblem } from '../../../src/grpc/wire-check.ts';

describe('protobuf wire check', () => {
  const service = inferenceService();
  const infer = service.ModelInfer!;
  const whole = infer.requestSerialize({
    model_name: 'colors',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3] }],
    raw_input_contents: [Buffer.alloc(12)],
  });

  it('a whole message passes, and decodes', () => {
    assert.equal(wireProblem(whole), undefined);
    assert.equal(wireProblem(Buffer.alloc(0)), undefined);
    const m = infer.requestDeserialize(whole) as { model_name: string; [MALFORMED]?: string };
    assert.equal(m[MALFORMED], undefined);
    assert.equal(m.model_name, 'colors');
  });

  it('a message cut short anywhere inside a field is malformed (protobufjs alone reads a cut string as a shorter one)', () => {
    const fieldEnds = new Set<number>();
    for (let cut = 1; cut < whole.length; cut++) {
      const part = whole.subarray(0, cut);
      if (wireProblem(part) === undefined) fieldEnds.add(cut);
    }
    // Only the cuts on a top-level field's boundary are whole (shorter) messages.
    assert.deepEqual(
      [...fieldEnds].sort((a, b) => a - b),
      [8, whole.length - 14],
    );
    const cut = infer.requestDeserialize(Buffer.from([0x0a, 0x10, 0x61, 0x62])) as { [MALFORMED]?: string };
    assert.match(cut[MALFORMED] ?? '', /not a valid ModelInferRequest message \(field 1 at offset 0 runs past the end/);
  });

  it('invalid wire types, cut varints and unmatched groups are malformed; a closed group is skipped', () => {
    assert.match(wireProblem(Buffer.from([0x7f, 0x01]))!, /invalid wire type 7/);
    assert.match(wireProblem(Buffer.from([0x08, 0xff]))!, /varint is cut short/);
    assert.match(wireProblem(Buffer.from([0x0c]))!, /unmatched end of group/);
    assert.match(wireProblem(Buffer.from([0x0b]))!, /group is not closed/);
    assert.equal(wireProblem(Buffer.from([0x0b, 0x10, 0x01, 0x0c])), undefined);
    assert.match(wireProblem(Buffer.from([0x00]))!, /field number 0/);
  });
});
