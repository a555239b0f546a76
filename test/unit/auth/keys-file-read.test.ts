import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateKey, readKeysFile } from '../../../src/auth/index.ts';
import { ConfigError, loadConfig } from '../../../src/config/index.ts';

describe('LOUPE_API_KEYS_FILE (parsed by auth, not config)', () => {
  it('reads LOUPE_API_KEYS_FILE, keeping hashes only; a bad or missing file is a one-line ConfigError', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-keys-'));
    const k = generateKey();
    const file = path.join(dir, 'api_keys');
    writeFileSync(file, `# bootstrap\nops admin ${k.key}\n`);
    const keys = readKeysFile(loadConfig({ LOUPE_API_KEYS_FILE: file }).LOUPE_API_KEYS_FILE);
    assert.deepEqual(keys, [{ id: k.id, name: 'ops', scopes: ['admin'], sha256: k.sha256 }]);
    assert.ok(!JSON.stringify(keys).includes(k.key));
    assert.equal(readKeysFile(''), undefined);

    writeFileSync(file, `ops admin\nfine read ${k.key}\n`);
    assert.throws(
      () => readKeysFile(file),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /^invalid configuration: LOUPE_API_KEYS_FILE line 1: expected /);
        assert.ok(!err.message.includes(k.key));
        return true;
      },
    );
    assert.throws(
      () => readKeysFile(path.join(dir, 'missing')),
      /^ConfigError: invalid configuration: LOUPE_API_KEYS_FILE cannot be read \(ENOENT/,
    );
  });
});
