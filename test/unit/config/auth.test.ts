import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateKey } from '../../../src/auth/index.ts';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';

describe('LOUPE_AUTH and LOUPE_API_KEYS_FILE', () => {
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

  it('reads the keys file at load, keeping hashes only', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-keys-'));
    const k = generateKey();
    const file = path.join(dir, 'api_keys');
    writeFileSync(file, `# bootstrap\nops admin ${k.key}\n`);
    const c = loadConfig({ LOUPE_API_KEYS_FILE: file });
    assert.deepEqual(c.apiKeys, [{ id: k.id, name: 'ops', scopes: ['admin'], sha256: k.sha256 }]);
    assert.ok(!JSON.stringify(c).includes(k.key));
    assert.equal(loadConfig({}).apiKeys, undefined);

    writeFileSync(file, `ops admin\nfine read ${k.key}\n`);
    assert.throws(
      () => loadConfig({ LOUPE_API_KEYS_FILE: file }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^invalid configuration: LOUPE_API_KEYS_FILE line 1: expected /);
        assert.ok(!err.message.includes(k.key));
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ LOUPE_API_KEYS_FILE: path.join(dir, 'missing') }),
      /^ConfigError: invalid configuration: LOUPE_API_KEYS_FILE cannot be read \(ENOENT/,
    );
  });
});
