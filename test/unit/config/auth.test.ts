import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';

describe('LOUPE_AUTH', () => {
  it('auto: keys are off on loopback addresses and required on any other', () => {
    assert.equal(loadConfig({}).LOUPE_AUTH, 'auto');
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1'])
      assert.equal(loadConfig({ HOST: host }).authRequired, false, host);
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1', '::2'])
      assert.equal(loadConfig({ HOST: host }).authRequired, true, host);
  });

  it('required and off override the address', () => {
    assert.equal(loadConfig({ HOST: '127.0.0.1', LOUPE_AUTH: 'required' }).authRequired, true);
    assert.equal(loadConfig({ HOST: '0.0.0.0', LOUPE_AUTH: 'off' }).authRequired, false);
    assert.throws(() => loadConfig({ LOUPE_AUTH: 'maybe' }), /^ConfigError: invalid configuration: LOUPE_AUTH /);
  });
});
