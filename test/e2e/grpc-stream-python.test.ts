import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { FIXTURES } from '../helpers/fixtures.ts';
import { CLIENTS, PYTHON, skipWithoutGrpcio, writeTritonStubs } from '../helpers/python-grpc.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

// ModelStreamInfer from Python, as tritonclient.grpc's start_stream / async_stream_infer /
// stop_stream drive it (test/clients/stream_infer.py), with Debian's grpcio and stubs generated
// at test time from the vendored Triton protos, against `loupe serve` with its default model
// (fashion-mnist) and a real image's tensor. ~5 s.
const SCRIPT = path.join(CLIENTS, 'stream_infer.py');

interface Streamed {
  id?: string;
  model?: string;
  logits?: number[];
  error?: string;
}

describe('ModelStreamInfer from Python grpcio, as tritonclient.grpc streams', { skip: skipWithoutGrpcio }, () => {
  let srv: TestServer;
  const stubs = tempDir('loupe-pystubs-');

  before(async () => {
    writeTritonStubs(stubs);
    srv = await startServe();
  });
  after(() => srv?.stop());

  it('answers every streamed request as ModelInfer does; errors in error_message; the stream ends OK', async () => {
    const tensor = path.join(FIXTURES, 'gray-40x30.png.tensor.json');
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, stubs, srv.role.grpcAddress, tensor], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    const r = JSON.parse(stdout) as { status: string; unary: { logits: number[] }; stream: Streamed[] };
    assert.equal(r.status, 'OK');
    assert.equal(r.stream.length, 12);
    const ok = r.stream.filter((s) => s.id !== undefined);
    assert.deepEqual(ok.map((s) => s.id).sort(), ['py-0', 'py-10', 'py-2', 'py-4', 'py-6', 'py-8']);
    for (const s of ok) {
      assert.equal(s.model, 'fashion-mnist');
      assert.deepEqual(s.logits, r.unary.logits, `${s.id}: the unary call's logits`);
    }
    assert.equal(r.unary.logits.length, 10);
    const errors = r.stream.filter((s) => s.error !== undefined).map((s) => s.error!);
    assert.equal(errors.length, 6);
    for (const i of [1, 5, 9])
      assert.ok(
        errors.includes(`MODEL_NOT_FOUND: model "nope" is not loaded (request id py-bad-model-${i})`),
        errors.join('\n'),
      );
    for (const i of [3, 7, 11])
      assert.ok(
        errors.some((e) => e.startsWith('INVALID_TENSOR: ') && e.endsWith(`(request id py-bad-shape-${i})`)),
        errors.join('\n'),
      );
  });
});
