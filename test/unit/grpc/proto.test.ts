import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as loader from '@grpc/proto-loader';
import { PROTO_DIR, inferenceService } from '../../../src/grpc/index.ts';

interface Field {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface Descriptor {
  field: Field[];
  nestedType: Array<Descriptor & { name: string }>;
  oneofDecl: Array<{ name: string }>;
}

const load = (file: string) =>
  loader.loadSync(path.join(PROTO_DIR, file), {
    keepCase: true,
    includeDirs: [path.dirname(path.join(PROTO_DIR, file))],
  });
const kserve = load('kserve/grpc_predict_v2.proto');
const triton = load('triton/grpc_service.proto');

/**
 * Every field of KServe's message is in Triton's under the same name, number, label and type,
 * nested messages (map entries) included; Triton may add fields (it adds two parameter kinds),
 * which a KServe client never sends and skips when it reads them.
 */
function assertSubset(triton: Descriptor, kserve: Descriptor, where: string): void {
  for (const f of kserve.field) {
    const t = triton.field.find((x) => x.name === f.name);
    assert.ok(t, `${where}.${f.name} is missing from Triton's`);
    assert.deepEqual(
      [t.number, t.label, t.type, t.typeName],
      [f.number, f.label, f.type, f.typeName],
      `${where}.${f.name}`,
    );
    assert.ok(!triton.field.some((x) => x !== t && x.number === f.number), `${where}: number ${f.number} reused`);
  }
  assert.deepEqual(
    kserve.oneofDecl.map((o) => o.name),
    triton.oneofDecl.map((o) => o.name),
    `${where} oneofs`,
  );
  for (const n of kserve.nestedType) {
    const t = triton.nestedType.find((x) => x.name === n.name);
    assert.ok(t, `${where}.${n.name} is missing from Triton's`);
    assertSubset(t, n, `${where}.${n.name}`);
  }
}

describe('the vendored protos', () => {
  it("KServe's grpc_predict_v2.proto is wire-compatible with Triton's grpc_service.proto, message by message", () => {
    const messages = Object.keys(kserve).filter((k) => k !== 'inference.GRPCInferenceService');
    assert.ok(messages.length >= 14, messages.join());
    for (const name of messages) {
      const theirs = triton[name] as { type?: Descriptor } | undefined;
      assert.ok(theirs?.type, `${name} is missing from Triton's proto`);
      assertSubset(theirs.type, (kserve[name] as { type: Descriptor }).type, name);
    }
  });

  it("KServe's service is the same service in the same package, each method with the same messages", () => {
    const k = kserve['inference.GRPCInferenceService'] as unknown as Record<
      string,
      loader.MethodDefinition<object, object>
    >;
    const t = triton['inference.GRPCInferenceService'] as unknown as Record<
      string,
      loader.MethodDefinition<object, object>
    >;
    for (const [method, def] of Object.entries(k)) {
      assert.ok(t[method], `Triton has no ${method}`);
      assert.equal(t[method].path, def.path);
      assert.equal(def.path, `/inference.GRPCInferenceService/${method}`);
      const name = (m: loader.MethodDefinition<object, object>, side: 'requestType' | 'responseType') =>
        (m[side].type as { name: string }).name;
      assert.equal(name(t[method], 'requestType'), name(def, 'requestType'));
      assert.equal(name(t[method], 'responseType'), name(def, 'responseType'));
      assert.equal(t[method].requestStream, def.requestStream);
      assert.equal(t[method].responseStream, def.responseStream);
    }
  });

  it('the server registers every method of Triton’s service, and notes each request’s size', () => {
    const service = inferenceService();
    const t = triton['inference.GRPCInferenceService'] as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(service).sort(), Object.keys(t).sort());
    const infer = service.ModelInfer!;
    const bytes = infer.requestSerialize({ model_name: 'm', raw_input_contents: [Buffer.alloc(1000)] });
    const decoded = infer.requestDeserialize(bytes) as Record<symbol, number>;
    const size = Object.getOwnPropertySymbols(decoded).map((s) => decoded[s]);
    assert.deepEqual(size, [bytes.length]);
  });
});
