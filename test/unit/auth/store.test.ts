import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKeyStore, generateKey, type FileKey } from '../../../src/auth/index.ts';
import { migrate, openDatabase, type Database } from '../../../src/storage/index.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

const fileKey = (name: string, scopes: FileKey['scopes']) => {
  const k = generateKey();
  return { key: k.key, entry: { id: k.id, name, scopes, sha256: k.sha256 } satisfies FileKey };
};

for (const [engine, url] of engines) {
  describe(`API keys in the database on ${engine}`, () => {
    let db: Database;
    let keys: ApiKeyStore;
    const made: string[] = [];

    before(async () => {
      db = await openDatabase({ url, dataDir: 'memory://' });
      await migrate(db);
      keys = new ApiKeyStore(db);
      // A shared PostgreSQL may hold file keys of earlier runs: this suite's syncs revoke them, as they should.
    });
    after(async () => {
      if (url && made.length)
        await db.query("DELETE FROM api_keys WHERE id = ANY(string_to_array($1, ','))", [made.join(',')]);
      await db.close();
    });

    it('creates a key, shows it once and stores only its SHA-256', async () => {
      const { key, info } = await keys.create('alice', ['predict', 'read']);
      made.push(info.id);
      assert.equal(info.name, 'alice');
      assert.deepEqual(info.scopes, ['predict', 'read']);
      assert.equal(info.source, 'cli');
      assert.equal(info.revoked_at, null);
      assert.ok(key.startsWith(`lp_${info.id}_`));
      const { rows } = await db.query('SELECT * FROM api_keys WHERE id = $1', [info.id]);
      const stored = JSON.stringify(rows);
      assert.ok(!stored.includes(key.slice(12)), 'the secret is in the table');
      assert.ok(!stored.includes(key));
      const listed = (await keys.list()).find((k) => k.id === info.id);
      assert.deepEqual(listed, info);
      assert.ok(!('key_sha256' in listed!));
    });

    it('verifies the key, not a near miss, and records its last use', async () => {
      const { key, info } = await keys.create('bob', ['read']);
      made.push(info.id);
      assert.deepEqual(await keys.verify(key), { keyId: info.id, name: 'bob', scopes: ['read'] });
      assert.equal(await keys.verify(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')), undefined);
      assert.equal(await keys.verify(generateKey().key), undefined);
      assert.equal(await keys.verify('not a key'), undefined);
      await sleep(50); // last use is written in the background
      assert.ok((await keys.list()).find((k) => k.id === info.id)!.last_used_at);
    });

    it('revokes for good', async () => {
      const { key, info } = await keys.create('carol', ['admin']);
      made.push(info.id);
      assert.equal(await keys.revoke(info.id), 'revoked');
      assert.equal(await keys.verify(key), undefined);
      assert.equal(await keys.revoke(info.id), 'already revoked');
      assert.equal(await keys.revoke('00000000'), 'unknown');
      assert.ok((await keys.list()).find((k) => k.id === info.id)!.revoked_at);
    });

    it('syncs the keys file: adds, renames, revokes what it no longer lists, never revives', async () => {
      const a = fileKey('a', ['predict']);
      const b = fileKey('b', ['read']);
      made.push(a.entry.id, b.entry.id);
      assert.deepEqual(await keys.syncFile([a.entry, b.entry]).then((r) => r.listed), 2);
      assert.deepEqual(await keys.verify(a.key), { keyId: a.entry.id, name: 'a', scopes: ['predict'] });
      // Run again (another gateway starting): nothing changes.
      await keys.syncFile([a.entry, b.entry]);
      assert.ok(await keys.verify(b.key));
      // b leaves the file, a gets another name and scopes.
      const r = await keys.syncFile([{ ...a.entry, name: 'a2', scopes: ['predict', 'read'] }]);
      assert.ok(r.revoked >= 1);
      assert.equal(await keys.verify(b.key), undefined);
      assert.deepEqual(await keys.verify(a.key), { keyId: a.entry.id, name: 'a2', scopes: ['predict', 'read'] });
      // b back in the file: revocation is final.
      await keys.syncFile([a.entry, b.entry]);
      assert.equal(await keys.verify(b.key), undefined);
      // A CLI key is not touched by the file.
      const cli = await keys.create('cli', ['read']);
      made.push(cli.info.id);
      await keys.syncFile([]);
      assert.ok(await keys.verify(cli.key));
      assert.equal(await keys.verify(a.key), undefined);
    });

    it('refuses a file key whose id belongs to another key', async () => {
      const { info } = await keys.create('taken', ['read']);
      made.push(info.id);
      const clash = { ...fileKey('clash', ['admin']).entry, id: info.id };
      await assert.rejects(keys.syncFile([clash]), /the id of key "clash" \([0-9a-f]{8}\) belongs to another key/);
      assert.equal((await keys.list()).find((k) => k.id === info.id)!.name, 'taken');
    });
  });
}
