import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, ConfigSchema, loadConfig } from '../../../src/config/index.ts';

describe('loadConfig', () => {
  it('has defaults that work out of the box and is frozen', () => {
    const c = loadConfig({});
    assert.equal(c.PORT, 8000);
    assert.equal(c.HOST, '127.0.0.1');
    assert.equal(c.LOUPE_MODEL_STORE, './model-store');
    assert.equal(c.LOUPE_DEFAULT_MODEL, 'fashion-mnist');
    assert.equal(c.LOUPE_MAX_UPLOAD_BYTES, 20 * 1024 * 1024);
    assert.equal(c.LOUPE_MAX_PIXELS, 40_000_000);
    assert.ok(Object.isFrozen(c));
  });
  it('converts strings from the environment', () => {
    const c = loadConfig({
      PORT: '9001',
      LOUPE_REQUIRE_GPU: 'true',
      LOUPE_MAX_QUEUE_DELAY_MS: '0.5',
      LOUPE_EXECUTION_PROVIDERS: 'webgpu, cpu',
    });
    assert.equal(c.PORT, 9001);
    assert.equal(c.LOUPE_REQUIRE_GPU, true);
    assert.equal(c.LOUPE_MAX_QUEUE_DELAY_MS, 0.5);
  });
  it('names the variable in one line when a value is invalid', () => {
    for (const [env, name] of [
      [{ PORT: 'eighty' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ LOUPE_LOG_LEVEL: 'loud' }, 'LOUPE_LOG_LEVEL'],
      [{ LOUPE_EXECUTION_PROVIDERS: 'cuda,tpu' }, 'LOUPE_EXECUTION_PROVIDERS'],
      [{ LOUPE_MAX_UPLOAD_BYTES: '-5' }, 'LOUPE_MAX_UPLOAD_BYTES'],
    ] as const) {
      assert.throws(
        () => loadConfig(env),
        (err: Error) => {
          assert.ok(err instanceof ConfigError);
          assert.match(err.message, new RegExp(`^invalid configuration: ${name} `));
          assert.ok(!err.message.includes('\n'));
          return true;
        },
      );
    }
  });
  it('docs/configuration.md and .env.example document every variable', () => {
    const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    for (const key of Object.keys(ConfigSchema.properties)) {
      assert.match(doc, new RegExp(`\\| \`${key}\` \\|`), `docs/configuration.md table lacks ${key}`);
      assert.match(example, new RegExp(`^#? ?${key}=`, 'm'), `.env.example lacks ${key}`);
    }
  });
});
