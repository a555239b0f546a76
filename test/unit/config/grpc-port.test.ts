import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';

describe('LOUPE_GRPC_PORT', () => {
  it("is on by default, on Triton's 8001", () => {
    const c = loadConfig({});
    assert.equal(c.LOUPE_GRPC_PORT, '8001');
    assert.equal(c.grpcPort, 8001);
  });

  it('takes a port, 0 for a free one, or off', () => {
    assert.equal(loadConfig({ LOUPE_GRPC_PORT: '9001' }).grpcPort, 9001);
    assert.equal(loadConfig({ LOUPE_GRPC_PORT: '0' }).grpcPort, 0);
    assert.equal(loadConfig({ LOUPE_GRPC_PORT: 'off' }).grpcPort, undefined);
    assert.equal(loadConfig({ PORT: '0', LOUPE_GRPC_PORT: '0' }).grpcPort, 0, 'both free ports');
  });

  it('refuses anything else in one line naming the variable', () => {
    for (const bad of ['70000', 'on', '-1', '80a', '8000']) {
      assert.throws(
        () => loadConfig({ LOUPE_GRPC_PORT: bad }),
        (e: Error) => /^invalid configuration: LOUPE_GRPC_PORT /.test(e.message) && !e.message.includes('\n'),
        bad,
      );
    }
  });
});
