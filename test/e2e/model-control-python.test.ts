import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { generateKey } from '../../src/auth/index.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { CLIENTS, PYTHON, skipWithoutGrpcio, writeTritonStubs } from '../helpers/python-grpc.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const SCRIPT = path.join(CLIENTS, 'model_control.py');

// tritonclient.grpc's load_model/unload_model, byte for byte, from Python's grpcio with stubs
// generated from the vendored proto, as a Triton user's client builds them.
describe(
  'model control from Python grpcio (as tritonclient.grpc sends it)',
  { timeout: 120_000, skip: skipWithoutGrpcio },
  () => {
    let srv: TestServer;
    const admin = generateKey();
    const stubs = tempDir('loupe-py-stubs-');

    before(async () => {
      writeTritonStubs(stubs);
      const store = tempDir('loupe-py-control-');
      writeStoreModel(store, { name: 'tiny', channels: 1, height: 2, width: 2, classes: 3 });
      writeStoreModel(store, { name: 'other', channels: 1, height: 2, width: 2, classes: 3 });
      const keys = path.join(tempDir('loupe-py-keys-'), 'api_keys');
      writeFileSync(keys, `ops admin ${admin.key}\n`);
      srv = await startServe({
        LOUPE_AUTH: 'required',
        LOUPE_API_KEYS_FILE: keys,
        LOUPE_MODEL_STORE: store,
        LOUPE_DEFAULT_MODEL: 'tiny',
        LOUPE_MODEL_CONTROL: 'explicit',
      });
    });
    after(() => srv?.stop());

    it('load_model, load_model(config=…), unload_model; files= refused; no key refused', async () => {
      const { stdout } = await run(PYTHON, [SCRIPT, stubs, srv.role.grpcAddress, admin.key], { timeout: 60_000 });
      const out = JSON.parse(stdout);
      assert.equal(out.ready_before, false);
      assert.equal(out.ready_after_load, true);
      assert.equal(out.max_batch_size, 7);
      assert.equal(out.ready_after_unload, false);
      assert.deepEqual(out.index, [
        ['other', '1', 'UNAVAILABLE', 'unloaded'],
        ['tiny', '1', 'READY', ''],
      ]);
      assert.equal(out.files[0], 'INVALID_ARGUMENT');
      assert.match(out.files[1], /no model files over the API/);
      assert.equal(out.no_key, 'UNAUTHENTICATED');
    });
  },
);
