import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../src/cli/flags.ts';
import { roleEnv } from '../../../src/cli/role-flags.ts';
import { loadConfig } from '../../../src/config/index.ts';

describe('model-server flags (how KServe passes settings)', () => {
  it('map to their variables and win over the environment', () => {
    const base = { PORT: '8000', LOUPE_DEFAULT_MODEL: 'fashion-mnist', LOUPE_MODEL_STORE: '/models' };
    const args = [
      'model-server',
      '--port=8080',
      '--grpc-port',
      '9000',
      '--model-store=/mnt/models',
      '--model-name=iris',
    ];
    const env = roleEnv('model-server', args, base);
    const config = loadConfig(env);
    assert.equal(config.PORT, 8080);
    assert.equal(config.grpcPort, 9000);
    assert.equal(config.LOUPE_MODEL_STORE, '/mnt/models');
    assert.equal(config.LOUPE_MODEL_NAME, 'iris');
    assert.equal(config.LOUPE_DEFAULT_MODEL, 'iris', 'readiness waits for the one model served');
    assert.equal(base.PORT, '8000', 'the given environment is not changed');
  });

  it('leave the environment alone when absent, and for other roles', () => {
    const env = { PORT: '8000' };
    assert.deepEqual(roleEnv('model-server', ['model-server'], env), env);
    assert.equal(roleEnv('gateway', ['gateway'], env), env);
  });

  it('reject unknown flags and positionals; bad values fail config validation', () => {
    assert.throws(() => roleEnv('model-server', ['model-server', '--http_port=8080'], {}), UsageError);
    assert.throws(() => roleEnv('model-server', ['model-server', 'extra'], {}), UsageError);
    assert.throws(() => loadConfig(roleEnv('model-server', ['model-server', '--port=http'], {})), /PORT/);
  });
});
