import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateKey } from '../../src/auth/index.ts';
import { createLogger } from '../../src/observability/index.ts';
import { migrate, openDatabase } from '../../src/storage/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, Record<string, string>]> = [['PGlite', {}]];
if (process.env.LOUPE_TEST_DATABASE_URL)
  engines.push(['PostgreSQL', { LOUPE_DATABASE_URL: process.env.LOUPE_TEST_DATABASE_URL }]);

for (const [engine, dbEnv] of engines) {
  describe(`API keys, scopes and ownership on ${engine}`, () => {
    let srv: TestServer;
    const log: string[] = [];
    const dataDir = tempDir('loupe-auth-data-');
    // The keys come from a keys file, as in the Compose stack.
    const keys = {
      admin: generateKey(),
      alice: generateKey(),
      bob: generateKey(),
      poster: generateKey(),
      reader: generateKey(),
    };
    const secrets = () => Object.values(keys).map((k) => k.key);
    const submitted: string[] = [];
    const finished = async (id: string) => {
      for (let i = 0; i < 400; i++, await sleep(50)) {
        const job = await json(await as('admin', `/jobs/${id}`));
        if (job.status === 'completed' || job.status === 'failed') return job;
      }
      throw new Error(`job ${id} did not finish`);
    };

    before(async () => {
      const store = tempDir('loupe-auth-');
      writeStoreModel(store, { name: 'auth-colors', channels: 3, height: 16, width: 16, classes: 4 });
      const file = path.join(tempDir('loupe-auth-keys-'), 'api_keys');
      writeFileSync(
        file,
        [
          '# name scopes key',
          `ops admin ${keys.admin.key}`,
          `alice predict,read ${keys.alice.key}`,
          `bob predict,read ${keys.bob.key}`,
          `poster predict ${keys.poster.key}`,
          `reader read ${keys.reader.key}`,
        ].join('\n'),
      );
      const dest = new Writable({
        write(chunk, _enc, cb) {
          log.push(String(chunk));
          cb();
        },
      });
      srv = await startServe(
        {
          LOUPE_AUTH: 'required',
          LOUPE_API_KEYS_FILE: file,
          LOUPE_MODEL_STORE: store,
          LOUPE_DEFAULT_MODEL: 'auth-colors',
          LOUPE_DATA_DIR: dataDir,
          ...dbEnv,
        },
        {},
        { logger: createLogger('debug', { destination: dest }) },
      );
    });
    after(() => srv.stop());

    const as = (who: keyof typeof keys | undefined, p: string, init: RequestInit = {}) =>
      fetch(`${srv.url}${p}`, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          ...(who ? { authorization: `Bearer ${keys[who].key}` } : {}),
        },
      });
    const predict = async (who: keyof typeof keys) => {
      const res = await as(who, '/predict', { method: 'POST', body: form(fixture('gray-40x30.png')) });
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      return body.id as string;
    };
    const submit = async (who: keyof typeof keys, headers: Record<string, string> = {}) => {
      const res = await as(who, '/jobs', { method: 'POST', body: form(fixture('dog-160x120.png')), headers });
      const body = await json(res);
      assert.ok(res.status === 202 || res.status === 200, JSON.stringify(body));
      submitted.push(body.id);
      return body.id as string;
    };

    it("no key: 401 UNAUTHORIZED with WWW-Authenticate, in the route family's error shape", async () => {
      for (const [method, p] of [
        ['POST', '/predict'],
        ['GET', '/models'],
        ['GET', '/predictions'],
        ['POST', '/jobs'],
      ]) {
        const res = await as(undefined, p!, {
          method: method!,
          ...(method === 'POST' ? { body: form(fixture('gray-40x30.png')) } : {}),
        });
        const body = await json(res);
        assert.equal(res.status, 401, `${method} ${p}`);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="loupe"');
        assert.equal(body.error.code, 'UNAUTHORIZED');
        assert.equal(body.error.request_id, res.headers.get('x-request-id'));
        assert.match(body.error.message, /Authorization: Bearer <key>.*X-API-Key/);
      }
      const oip = await as(undefined, '/v2/models/auth-colors');
      assert.equal(oip.status, 401);
      assert.match((await json(oip)).error, /API key is required/);
    });

    it('probes, metrics and the API description stay open', async () => {
      for (const p of ['/livez', '/readyz', '/metrics', '/v2/health/live', '/openapi.json', '/docs/']) {
        const res = await as(undefined, p);
        await res.arrayBuffer();
        assert.equal(res.status, 200, p);
      }
      assert.equal((await as(undefined, '/no/such/route')).status, 404);
    });

    it('unknown, malformed, tampered and revoked keys: 401 invalid_token', async () => {
      const made = await srv.role.keys!.create('temp', ['predict', 'read']);
      assert.equal((await fetch(`${srv.url}/models`, { headers: { 'x-api-key': made.key } })).status, 200);
      assert.equal(await srv.role.keys!.revoke(made.info.id), 'revoked');
      const tampered = keys.alice.key.slice(0, -2) + (keys.alice.key.endsWith('AA') ? 'BB' : 'AA');
      for (const bad of [generateKey().key, 'lp_nope', tampered, made.key, 'x'.repeat(5000)]) {
        for (const headers of [{ authorization: `Bearer ${bad}` }, { 'x-api-key': bad }]) {
          const res = await fetch(`${srv.url}/models`, { headers });
          const body = await json(res);
          assert.equal(res.status, 401, bad.slice(0, 20));
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="loupe", error="invalid_token"');
          assert.equal(body.error.code, 'UNAUTHORIZED');
          assert.ok(!JSON.stringify(body).includes(bad.slice(3, 20)), 'the error quotes the key');
        }
      }
    });

    it('wrong scope: 403 FORBIDDEN; a predict key polls its own jobs', async () => {
      const denied = await as('reader', '/predict', { method: 'POST', body: form(fixture('gray-40x30.png')) });
      assert.equal(denied.status, 403);
      assert.equal((await json(denied)).error.code, 'FORBIDDEN');
      assert.equal((await as('poster', '/predictions')).status, 403);
      const infer = await as('reader', '/v2/models/auth-colors/infer', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          inputs: [{ name: 'input', shape: [1, 3, 16, 16], datatype: 'FP32', data: new Array(768).fill(0) }],
        }),
      });
      assert.equal(infer.status, 403);
      assert.equal(typeof (await json(infer)).error, 'string');
      assert.equal((await as('reader', '/models')).status, 200);
      const job = await submit('poster');
      assert.equal((await as('poster', `/jobs/${job}`)).status, 200);
      // A read-only key owns nothing, so it reads everyone's records (a dashboard's key).
      assert.equal((await as('reader', `/jobs/${job}`)).status, 200);
    });

    it("another key's predictions and jobs are 404; admin sees them; lists show only one's own", async () => {
      const [a1, a2, b1] = [await predict('alice'), await predict('alice'), await predict('bob')];
      assert.equal((await as('alice', `/predictions/${a1}`)).status, 200);
      const other = await as('bob', `/predictions/${a1}`);
      assert.equal(other.status, 404);
      assert.equal((await json(other)).error.code, 'NOT_FOUND');
      assert.equal((await as('admin', `/predictions/${a1}`)).status, 200);
      const ids = async (who: keyof typeof keys) =>
        ((await json(await as(who, '/predictions?limit=500'))).items as Array<{ id: string }>).map((i) => i.id);
      assert.deepEqual((await ids('alice')).sort(), [a1, a2].sort());
      assert.deepEqual(await ids('bob'), [b1]);
      const all = await ids('admin');
      for (const id of [a1, a2, b1]) assert.ok(all.includes(id));
      // A read-only key lists every key's records and opens any of them; it still cannot predict.
      const read = await ids('reader');
      for (const id of [a1, a2, b1]) assert.ok(read.includes(id), `reader lists ${id}`);
      assert.equal((await as('reader', `/predictions/${b1}`)).status, 200);

      const job = await submit('alice');
      assert.equal((await as('bob', `/jobs/${job}`)).status, 404);
      assert.equal((await as('admin', `/jobs/${job}`)).status, 200);
      // The job's predictions belong to the job's owner.
      const done = await finished(job);
      assert.equal(done.status, 'completed');
      const itemPrediction = done.items[0].prediction_id as string;
      assert.ok((await ids('alice')).includes(itemPrediction));
      assert.equal((await as('bob', `/predictions/${itemPrediction}`)).status, 404);
    });

    it('Idempotency-Keys are per API key', async () => {
      const key = `shared-${Date.now()}`;
      const a = await submit('alice', { 'idempotency-key': key });
      const b = await submit('bob', { 'idempotency-key': key });
      assert.notEqual(a, b);
      assert.equal(await submit('alice', { 'idempotency-key': key }), a);
    });

    it("/openapi.json describes the keys and each route's scopes", async () => {
      const doc = await json(await as(undefined, '/openapi.json'));
      assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['apiKey', 'bearer']);
      assert.deepEqual(doc.paths['/predict'].post.security, [{ bearer: ['predict'] }, { apiKey: ['predict'] }]);
      assert.deepEqual(doc.paths['/models'].get.security, [{ bearer: [] }, { apiKey: [] }]);
      assert.ok(doc.paths['/predictions/{id}'].get.responses['401']);
      assert.equal(doc.paths['/livez'].get.security, undefined);
    });

    it('keys never reach the log, and are stored only as hashes', async () => {
      // No job left in the queue for the next test's worker (a shared PostgreSQL).
      for (const id of submitted) await finished(id);
      await sleep(100); // the last request's log line
      const text = log.join('');
      assert.match(text, /"code":"UNAUTHORIZED"/);
      assert.match(text, new RegExp(`"key_id":"${keys.alice.id}"`)); // the public id is logged, for audits
      for (const k of secrets()) assert.ok(!text.includes(k.slice(12)), 'a key is in the log');
      await srv.stop();
      const db = await openDatabase({ url: dbEnv.LOUPE_DATABASE_URL ?? '', dataDir });
      try {
        await migrate(db);
        const { rows } = await db.query("SELECT * FROM api_keys WHERE id = ANY(string_to_array($1, ','))", [
          Object.values(keys)
            .map((k) => k.id)
            .join(','),
        ]);
        assert.equal(rows.length, 5);
        const dump = JSON.stringify(rows);
        for (const k of secrets()) assert.ok(!dump.includes(k.slice(12)), 'a key is stored in plain text');
        for (const k of Object.values(keys)) assert.ok(dump.includes(k.sha256));
      } finally {
        await db.close();
      }
    });
  });
}
