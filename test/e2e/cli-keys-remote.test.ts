import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '../../src/auth/index.ts';
import { loupe } from '../helpers/cli-client.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

describe('keys without downtime: the keys API and `loupe keys --url` against a running serve', () => {
  let srv: TestServer;
  const admin = generateKey().key;
  const poster = generateKey().key;

  before(async () => {
    const file = path.join(tempDir('loupe-keys-api-'), 'api_keys');
    writeFileSync(file, `ops admin ${admin}\nposter predict ${poster}\n`);
    // PGlite in a directory, as `loupe serve` has it: `loupe keys` without --url could not open it now.
    srv = await startServe({ LOUPE_AUTH: 'required', LOUPE_API_KEYS_FILE: file, LOUPE_DATA_DIR: tempDir() });
  });
  after(() => srv.stop());

  const as = (key: string | undefined, p: string, init: RequestInit = {}) =>
    fetch(`${srv.url}${p}`, {
      ...init,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
    });

  it('POST /keys answers the secret once; the key works at once; GET /keys never shows secrets; DELETE ends it', async () => {
    const made = await as(admin, '/keys', { method: 'POST', body: JSON.stringify({ name: 'api', scopes: ['read'] }) });
    assert.equal(made.status, 201);
    assert.equal(made.headers.get('cache-control'), 'no-store');
    const { key, info } = await json(made);
    assert.match(key, /^lp_[0-9a-f]{8}_/);
    assert.deepEqual([info.id, info.name, info.scopes, info.revoked_at], [key.slice(3, 11), 'api', ['read'], null]);
    assert.equal((await as(key, '/models')).status, 200);

    const listed = await as(admin, '/keys');
    const text = await listed.text();
    assert.equal(listed.status, 200);
    assert.ok(!text.includes(key.slice(12)) && !text.includes(admin.slice(12)), 'no secret in the list');
    assert.ok((JSON.parse(text) as { keys: Array<{ id: string }> }).keys.some((k) => k.id === info.id));

    const revoked = await as(admin, `/keys/${info.id}`, { method: 'DELETE' });
    assert.deepEqual(await json(revoked), { id: info.id, revoked: true, already: false });
    assert.equal((await as(key, '/models')).status, 401);
    assert.equal((await json(await as(admin, `/keys/${info.id}`, { method: 'DELETE' }))).already, true);
    assert.equal((await as(admin, '/keys/00000000', { method: 'DELETE' })).status, 404);
  });

  it('only an admin key may use it; bad requests get 400; it is in the OpenAPI document', async () => {
    const body = JSON.stringify({ name: 'x', scopes: ['admin'] });
    assert.equal((await as(poster, '/keys', { method: 'POST', body })).status, 403);
    assert.equal((await as(poster, '/keys')).status, 403);
    assert.equal((await as(undefined, '/keys')).status, 401);
    for (const bad of [{ name: 'x' }, { name: 'no spaces', scopes: ['read'] }, { name: 'x', scopes: ['root'] }]) {
      const res = await as(admin, '/keys', { method: 'POST', body: JSON.stringify(bad) });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal((await json(res)).error.code, 'BAD_REQUEST');
    }
    const doc = await json(await fetch(`${srv.url}/openapi.json`));
    assert.ok(doc.paths['/keys'].post && doc.paths['/keys'].get && doc.paths['/keys/{id}'].delete);
    assert.deepEqual(doc.paths['/keys'].post.security, [{ bearer: ['admin'] }, { apiKey: ['admin'] }]);
    assert.deepEqual(doc.paths['/limits'].get.security, [{ bearer: [] }, { apiKey: [] }], 'as GET /models');
    assert.equal((await as(undefined, '/limits')).status, 401);
    assert.equal((await as(poster, '/limits')).status, 200);
  });

  it('loupe keys create|list|revoke --url: made, used, revoked (401) with the server running throughout', async () => {
    const env = { LOUPE_API_KEY: admin };
    const made = await loupe(['keys', 'create', '--name', 'cli', '--scope', 'predict', '--url', srv.url], env);
    assert.equal(made.status, 0, made.stderr);
    const key = made.stdout.trim();
    assert.match(made.stdout, /^lp_[0-9a-f]{8}_[A-Za-z0-9_-]{43}\n$/);
    const id = key.slice(3, 11);
    assert.match(made.stderr, new RegExp(`created API key ${id} "cli" \\(scopes: predict\\)`));
    assert.equal((await as(key, '/models')).status, 200);

    const list = await loupe(['keys', 'list', '--url', srv.url, '--api-key', admin], {});
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`\\n${id}\\s+cli\\s+predict\\s+cli\\s+\\d{4}-`));
    assert.ok(!list.stdout.includes(key.slice(12)));

    const revoked = await loupe(['keys', 'revoke', id, '--url', srv.url], env);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stderr, new RegExp(`revoked API key ${id}`));
    assert.equal((await as(key, '/models')).status, 401);

    const denied = await loupe(['keys', 'list', '--url', srv.url, '--key', poster], {});
    assert.equal(denied.status, 1);
    assert.match(denied.stderr, /^loupe keys list: 403 FORBIDDEN: .*\(request id /);
  });
});
