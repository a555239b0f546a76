import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ApiKeyStore } from '../../src/auth/index.ts';
import { openDatabase } from '../../src/storage/index.ts';
import { tempDir } from '../helpers/server.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

describe('loupe keys', () => {
  const dataDir = tempDir('loupe-cli-keys-');
  const env = { LOUPE_DATA_DIR: dataDir, LOUPE_DATABASE_URL: '', LOUPE_LOG_LEVEL: 'warn' };
  const loupe = (...args: string[]) =>
    spawnSync(process.execPath, [MAIN, 'keys', ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
  const withStore = async <T>(fn: (keys: ApiKeyStore) => Promise<T>) => {
    const db = await openDatabase({ url: '', dataDir });
    try {
      return await fn(new ApiKeyStore(db));
    } finally {
      await db.close();
    }
  };

  it('create prints the key alone on stdout, once; list shows it without the secret; revoke ends it', async () => {
    const made = loupe('create', '--name', 'frontend', '--scope', 'predict', '--scope', 'read');
    assert.equal(made.status, 0, made.stderr);
    const key = made.stdout.trim();
    assert.match(made.stdout, /^lp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n$/);
    const id = key.slice(3, 11);
    assert.match(
      made.stderr,
      new RegExp(`created API key ${id} "frontend" \\(scopes: predict, read\\).*only this once`),
    );
    assert.ok(!made.stderr.includes(key));

    const admin = loupe('create', '--name', 'ops', '--scope', 'admin');
    assert.equal(admin.status, 0, admin.stderr);

    const list = loupe('list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^ID\s+NAME\s+SCOPES\s+SOURCE\s+CREATED\s+LAST USED\s+REVOKED\n/);
    assert.match(
      list.stdout,
      new RegExp(`\\n${id}\\s+frontend\\s+predict,read\\s+cli\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\s+-\\s+-\\n`),
    );
    assert.ok(!list.stdout.includes(key.slice(12)));
    assert.deepEqual(await withStore((k) => k.verify(key)), {
      keyId: id,
      name: 'frontend',
      scopes: ['predict', 'read'],
    });
    const revoked = loupe('revoke', id);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stderr, new RegExp(`revoked API key ${id}`));
    assert.match(loupe('revoke', id).stderr, /was already revoked/);
    assert.equal(await withStore((k) => k.verify(key)), undefined);
    const json = JSON.parse(loupe('list', '--json').stdout) as Array<{ id: string; revoked_at: string | null }>;
    const adminId = admin.stdout.trim().slice(3, 11);
    assert.deepEqual(
      json.map((k) => [k.id, k.revoked_at !== null]).sort(),
      [
        [adminId, false],
        [id, true],
      ].sort(),
    );
    assert.ok(await withStore((k) => k.verify(admin.stdout.trim())));
  });

  it('refuses bad arguments with exit 2 and an unknown id with exit 1', () => {
    for (const args of [
      ['create', '--scope', 'read'],
      ['create', '--name', 'x', '--scope', 'root'],
      ['create', '--name', 'x', '--scope', 'read', '--bogus'],
      ['revoke', 'not-an-id'],
      ['frobnicate'],
    ]) {
      const r = loupe(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /Usage:\n\s+loupe keys create/);
    }
    const unknown = loupe('revoke', '00000000');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no API key 00000000/);
  });

  it('will not open an embedded database that a running process has open', () => {
    // What `loupe serve` writes beside its PGlite directory: this (live) process on this host.
    const owner = path.join(dataDir, 'pglite.owner');
    writeFileSync(owner, JSON.stringify({ pid: process.pid, host: os.hostname() }));
    const r = loupe('list');
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /is open in another Loupe process \(pid \d+ on host .*\): stop it first/);
    // A file left by a process that is gone does not block.
    writeFileSync(owner, JSON.stringify({ pid: 2 ** 22 + 1, host: os.hostname() }));
    assert.equal(loupe('list').status, 0);
  });
});
