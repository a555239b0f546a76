import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { tempDir } from '../helpers/server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const loupe = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

describe('the loupe CLI', () => {
  it('invalid configuration exits 1 with one clear line naming the variable', () => {
    const r = loupe(['serve'], { PORT: 'eighty' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^invalid configuration: PORT must be integer \(got "eighty"\)/);
  });

  it('gateway and worker need LOUPE_MODEL_SERVER_URL; secret files are read at start', () => {
    for (const role of ['gateway', 'worker']) {
      const r = loupe([role], { LOUPE_MODEL_SERVER_URL: '' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^invalid configuration: LOUPE_MODEL_SERVER_URL is required by \`loupe ${role}\``),
      );
    }
    const missing = path.join(tempDir(), 'no-such-secret');
    const r = loupe(['serve'], { LOUPE_WEBHOOK_SECRET_FILE: missing });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^invalid configuration: LOUPE_WEBHOOK_SECRET_FILE cannot be read \(ENOENT: /);
  });

  it('a bad LOUPE_API_KEYS_FILE line exits 1 at start with one line that never quotes the line', () => {
    const file = path.join(tempDir(), 'api_keys');
    writeFileSync(file, 'ops admin lp_secretish\n');
    for (const role of ['serve', 'gateway']) {
      const r = loupe([role], { LOUPE_API_KEYS_FILE: file, LOUPE_MODEL_SERVER_URL: 'http://127.0.0.1:9' });
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^invalid configuration: LOUPE_API_KEYS_FILE line 1: the key is not a Loupe API key/);
      assert.ok(!r.stderr.includes('lp_secretish'));
    }
  });

  it('LOUPE_REQUIRE_GPU with no GPU exits 1 at start, naming the model and the providers tried', () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'm', channels: 1, height: 4, width: 4, classes: 3 });
    const env = {
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'm',
      PORT: '0',
      LOUPE_GRPC_PORT: '0',
      LOUPE_LOG_LEVEL: 'silent',
    };
    const r = loupe(['model-server'], { ...env, LOUPE_EXECUTION_PROVIDERS: 'cuda,cpu', LOUPE_REQUIRE_GPU: 'true' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    // ONNX Runtime's native logger may write its own lines first; Loupe's is one line, the last.
    const last = r.stderr.trim().split('\n').at(-1)!;
    assert.match(last, /^LOUPE_REQUIRE_GPU is set and no GPU provider could load m\/1 \(tried: cuda\): /);
  });

  it('prints usage, version, and refuses unknown commands', () => {
    assert.match(
      loupe(['--help']).stdout,
      /loupe serve[\s\S]*loupe gateway[\s\S]*loupe model-server[\s\S]*loupe worker[\s\S]*loupe migrate/,
    );
    assert.match(loupe(['--version']).stdout, /^\d+\.\d+\.\d+/);
    const bad = loupe(['frobnicate']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
  });

  it('`models validate` prints a report and sets the exit code', () => {
    const store = tempDir();
    writeStoreModel(store, { name: 'ok', channels: 3, height: 8, width: 8, classes: 2 });
    const good = loupe(['models', 'validate', store]);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /✓ ok\/1: .*2 labels\nOK: 1 model version\(s\) valid/);
    const bad = loupe(['models', 'validate', path.join(store, 'missing')]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /FAILED/);
  });

  it('`migrate` brings a PGlite database up to date and exits 0', () => {
    const r = loupe(['migrate'], { LOUPE_DATA_DIR: tempDir(), LOUPE_LOG_LEVEL: 'info' });
    assert.equal(r.status, 0, r.stderr);
    const latest = readdirSync(path.resolve(import.meta.dirname, '../../src/storage/migrations')).length;
    assert.match(r.stdout, new RegExp(`database migrated from version 0 to ${latest}[\\s\\S]*migrations complete`));
  });

  it('`migrate --write-seed` writes a PGlite seed; it refuses to with a Postgres URL', () => {
    const file = path.join(tempDir(), 'seed.tar.gz');
    const r = loupe(['migrate', '--write-seed', file], { LOUPE_LOG_LEVEL: 'info' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote a PGlite seed to /);
    assert.ok(statSync(file).size > 100_000);
    const pg = loupe(['migrate', '--write-seed', file], { LOUPE_DATABASE_URL: 'postgres://x@127.0.0.1:9/db' });
    assert.equal(pg.status, 1);
    assert.equal(pg.stderr.trim().split('\n').length, 1, pg.stderr);
    assert.match(pg.stderr, /--write-seed makes an embedded PGlite database; unset LOUPE_DATABASE_URL/);
  });
});
