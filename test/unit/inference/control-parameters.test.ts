import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import { checkUnloadParameters, parseLoadParameters } from '../../../src/inference/index.ts';

const refused = (re: RegExp) => (e: unknown) =>
  e instanceof LoupeError && e.code === ErrorCode.BadRequest && re.test(e.message);

describe('model control parameters', () => {
  it('no parameters, or an empty config, load as the store says', () => {
    assert.deepEqual(parseLoadParameters('m', {}), {});
    assert.deepEqual(parseLoadParameters('m', { config: '' }), {});
  });

  it("maps a Triton config's batching fields, and takes the fields that describe the model as it is", () => {
    const config = JSON.stringify({
      name: 'm',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 16,
      dynamic_batching: { max_queue_delay_microseconds: 2500, default_queue_policy: { max_queue_size: '64' } },
    });
    assert.deepEqual(parseLoadParameters('m', { config }), {
      batching: { max_batch_size: 16, max_queue_delay_ms: 2.5, max_queue_size: 64 },
    });
  });

  it('refuses, by name, what it cannot honour', () => {
    const load = (config: unknown) => () => parseLoadParameters('m', { config: JSON.stringify(config) });
    assert.throws(load({ instance_group: [{ count: 2 }] }), refused(/"instance_group" cannot be honoured/));
    assert.throws(
      load({ dynamic_batching: { preferred_batch_size: [4] } }),
      refused(/"dynamic_batching.preferred_batch_size"/),
    );
    assert.throws(
      load({ dynamic_batching: { default_queue_policy: { timeout_action: 'DELAY' } } }),
      refused(/default_queue_policy.timeout_action/),
    );
    assert.throws(load({ name: 'other' }), refused(/"name" must be "m"/));
    assert.throws(load({ max_batch_size: 0 }), refused(/max_batch_size" must be an integer ≥ 1/));
    assert.throws(load([1]), refused(/JSON object/));
    assert.throws(() => parseLoadParameters('m', { config: '{' }), refused(/not valid JSON/));
    assert.throws(() => parseLoadParameters('m', { config: 5 }), refused(/must be a string/));
    assert.throws(
      () => parseLoadParameters('m', { 'file:1/model.onnx': 'AAAA' }),
      refused(/no model files over the API; put the version in the model store/),
    );
    assert.throws(() => parseLoadParameters('m', { priority: 1 }), refused(/"priority" is not supported/));
  });

  it("unload takes Triton's unload_dependents and nothing else", () => {
    checkUnloadParameters({});
    checkUnloadParameters({ unload_dependents: false });
    assert.throws(() => checkUnloadParameters({ config: '{}' }), refused(/"config" is not supported by unload/));
  });
});
