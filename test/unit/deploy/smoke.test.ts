import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '../../../src/auth/index.ts';
import { startServe, tempDir, type TestServer } from '../../helpers/server.ts';

// The script `helm test` runs in the Loupe image and the kind job runs against a port-forward:
// here against a real server (the bundled fashion-mnist model), HTTP and gRPC, with API keys.
const ROOT = path.resolve(import.meta.dirname, '../../..');
const SMOKE = path.join(ROOT, 'deploy/helm/loupe/files/smoke.mjs');

function smoke(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SMOKE], {
      env: { PATH: process.env.PATH ?? '', LOUPE_APP_DIR: ROOT, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('deploy/helm/loupe/files/smoke.mjs (helm test, kind job)', () => {
  let srv: TestServer;
  const keys = { predict: generateKey(), read: generateKey() };
  const dir = tempDir('loupe-smoke-');
  const keysFile = path.join(dir, 'api_keys');

  before(async () => {
    writeFileSync(keysFile, `reader read ${keys.read.key}\npredictor predict,read ${keys.predict.key}\n`);
    srv = await startServe({
      LOUPE_AUTH: 'required',
      LOUPE_API_KEYS_FILE: keysFile,
      LOUPE_MODEL_STORE: path.join(ROOT, 'model-store'),
    });
  });
  after(() => srv?.stop());

  it('predicts over HTTP and gRPC with the predict key of a keys file', async () => {
    const r = await smoke({ LOUPE_URL: srv.url, LOUPE_GRPC: srv.role.grpcAddress, LOUPE_API_KEYS_FILE: keysFile });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /HTTP \/predict fashion-mnist -> /);
    assert.match(r.out, /gRPC ModelInfer fashion-mnist -> outputs /);
  });

  it('fails: a key without the predict scope, a wrong key, an unknown model', async () => {
    const base = { LOUPE_URL: srv.url, LOUPE_GRPC: srv.role.grpcAddress };
    const readOnly = path.join(dir, 'read_only');
    writeFileSync(readOnly, `reader read ${keys.read.key}\n`);
    const noScope = await smoke({ ...base, LOUPE_API_KEYS_FILE: readOnly });
    assert.equal(noScope.code, 1, noScope.out);
    assert.match(noScope.out, /no key with the predict scope/);
    const wrong = await smoke({ ...base, LOUPE_API_KEY: generateKey().key });
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /POST \/predict: 401/);
    const model = await smoke({ ...base, LOUPE_API_KEY: keys.predict.key, LOUPE_MODEL: 'no-such-model' });
    assert.equal(model.code, 1, model.out);
  });
});
