import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { registerBuildInfo } from '../../../src/observability/index.ts';
import { parseExposition } from '../../helpers/metrics.ts';

const exposition = async (registry: Registry) => parseExposition(await registry.metrics());

describe('loupe_build_info', () => {
  it('is 1 with the version, the revision (unknown when empty), Node.js and onnxruntime-node', async () => {
    const ort = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
    for (const [revision, shown] of [
      ['', 'unknown'],
      ['f00d', 'f00d'],
    ]) {
      const registry = new Registry();
      registerBuildInfo(registry, { version: '1.2.3', revision: revision! });
      const [info, ...more] = (await exposition(registry)).filter((x) => x.name === 'loupe_build_info');
      assert.equal(more.length, 0);
      assert.deepEqual(info!.labels, { version: '1.2.3', revision: shown, node: process.version, onnxruntime: ort });
      assert.equal(info!.value, 1);
    }
  });
});
