import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import type { OipInferRequest, OipInferResponse } from '../../../src/inference/index.ts';
import { roleAdmission } from '../../../src/roles/options.ts';
import { grpcClient } from '../../helpers/grpc.ts';
import { stubGrpc } from '../../helpers/grpc-app.ts';
import { StubBackend } from '../../helpers/stub-backend.ts';

// A gzip-compressed gRPC message arrives in few frames and decodes to many bytes in memory:
// the upload budget (and each client's share of it) must hold the decoded size, as HTTP counts
// a gzip body's decoded bytes — else one client could hold gigabytes charged as kilobytes.

const MiB = 1024 * 1024;

describe('a compressed gRPC message and the upload budget', () => {
  const stops: Array<() => Promise<void>> = [];
  after(() => Promise.all(stops.map((s) => s())));

  it('is charged its decoded size while the call runs, and given back after', async () => {
    const config = loadConfig({ LOUPE_LOG_LEVEL: 'silent' });
    const admission = roleAdmission(config, { clientLimits: true });
    const held: number[] = [];
    class Watching extends StubBackend {
      override async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
        held.push(admission.budget.inUse);
        return super.infer(name, version, req);
      }
    }
    const api = await stubGrpc({}, { backend: new Watching(), admission });
    stops.push(api.stop);
    // 4 MiB of zeros: gzip sends a few KiB of it.
    const zeros = Buffer.alloc(4 * MiB);
    const request = {
      model_name: 'stub',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 2, 2] }],
      raw_input_contents: [zeros],
    };
    for (const compression of [0, 2]) {
      const client = grpcClient(api.server.address, 'triton', { 'grpc.default_compression_algorithm': compression });
      // The stub refuses the tensor (4 MiB is not 1×3×2×2): what counts is what the call held.
      await client.call('ModelInfer', request);
      client.close();
    }
    assert.equal(held.length, 2, 'both calls reached the backend');
    for (const [i, bytes] of held.entries())
      assert.ok(bytes >= 4 * MiB, `call ${i} (compression ${i ? 'gzip' : 'none'}) held ${bytes} bytes`);
    assert.equal(admission.budget.inUse, 0);
  });
});
