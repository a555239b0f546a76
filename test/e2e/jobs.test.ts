import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const SECRET = 'test-webhook-secret';

/** A webhook receiver on loopback that records what it got; fails the first `failFirst` calls. */
function receiver(failFirst = 0) {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      calls++;
      if (calls <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return { server, got, calls: () => calls };
}

// Run against PGlite (the embedded default) and, where LOUPE_TEST_DATABASE_URL is set (CI
// starts Debian's postgresql), against a real PostgreSQL server.
const engines: Array<[string, Record<string, string>]> = [['PGlite', {}]];
if (process.env.LOUPE_TEST_DATABASE_URL)
  engines.push(['PostgreSQL', { LOUPE_DATABASE_URL: process.env.LOUPE_TEST_DATABASE_URL }]);

for (const [engine, dbEnv] of engines) {
  describe(`jobs and prediction history on ${engine}`, () => {
    let srv: TestServer;
    const hook = receiver(1);
    let hookUrl = '';
    const store = tempDir('loupe-jobs-');
    const dataDir = tempDir('loupe-jobs-data-');
    const env = {
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_WEBHOOK_SECRET: SECRET,
      // The receiver is on loopback, which webhooks may not reach unless allowed.
      LOUPE_WEBHOOK_ALLOW: '127.0.0.1/32',
      LOUPE_DATA_DIR: dataDir,
      ...dbEnv,
    };

    before(async () => {
      writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
      await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
      hookUrl = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
      srv = await startServe(env);
    });
    after(async () => {
      await srv?.stop();
      hook.server.close();
    });

    const submit = (files: Buffer[], fields: Record<string, string> = {}, headers: Record<string, string> = {}) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      files.forEach((b, i) => f.append('file', new Blob([b]), `img-${i}.jpg`));
      return fetch(`${srv.url}/jobs`, { method: 'POST', body: f, headers });
    };
    const waitJob = async (id: string, url = srv.url) => {
      for (let i = 0; i < 200; i++) {
        const j = await json(await fetch(`${url}/jobs/${id}`));
        if (j.status === 'completed' || j.status === 'failed') return j;
        await sleep(100);
      }
      throw new Error(`job ${id} did not finish`);
    };

    it('POST /predict is recorded and listed in /predictions', async () => {
      const f = new FormData();
      f.append('metadata', JSON.stringify({ camera: '7' }));
      f.append('file', new Blob([fixture('dog-160x120.jpg')]), 'dog.jpg');
      const p = await json(await fetch(`${srv.url}/predict`, { method: 'POST', body: f }));
      const rec = await json(await fetch(`${srv.url}/predictions/${p.id}`));
      assert.equal(rec.id, p.id);
      assert.deepEqual(rec.model, p.model);
      assert.deepEqual(rec.predictions, p.predictions);
      assert.equal(rec.image.bytes, fixture('dog-160x120.jpg').length);
      assert.match(rec.image.sha256, /^[0-9a-f]{64}$/);
      assert.deepEqual([rec.image.width, rec.image.height, rec.image.format], [160, 120, 'jpeg']);
      assert.deepEqual(rec.metadata, { camera: '7' });
      const list = await json(await fetch(`${srv.url}/predictions?model=colors&limit=1`));
      assert.equal(list.items[0].id, p.id);
      assert.equal((await fetch(`${srv.url}/predictions/00000000-0000-0000-0000-000000000000`)).status, 404);
      assert.equal((await json(await fetch(`${srv.url}/predictions?model=nope`))).items.length, 0);
    });

    it('a job with several images completes with per-image results, bad images included, and a signed webhook', async () => {
      const res = await submit([fixture('dog-160x120.jpg'), Buffer.from('not an image'), fixture('dog-160x120.png')], {
        webhook_url: hookUrl,
        top_k: '2',
        metadata: '{"batch":"b1"}',
      });
      const accepted = await json(res);
      assert.equal(res.status, 202, JSON.stringify(accepted));
      assert.equal(accepted.status_url, `/jobs/${accepted.id}`);
      const job = await waitJob(accepted.id);
      assert.equal(job.status, 'completed');
      assert.deepEqual(job.progress, { total: 3, done: 2, failed: 1 });
      assert.equal(job.items[1].status, 'failed');
      assert.equal(job.items[1].error.code, 'INVALID_IMAGE');
      assert.equal(job.items[0].result.predictions.length, 2);
      const rec = await json(await fetch(`${srv.url}/predictions/${job.items[2].prediction_id}`));
      assert.equal(rec.job_id, accepted.id);
      assert.deepEqual(rec.metadata, { batch: 'b1' });
      // The receiver refused the first delivery; the retry arrives, signed.
      for (let i = 0; i < 100 && hook.got.length === 0; i++) await sleep(100);
      assert.equal(hook.got.length, 1);
      assert.ok(hook.calls() >= 2);
      const { headers, body } = hook.got[0]!;
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${headers['x-loupe-timestamp']}.${body}`).digest('hex')}`;
      assert.equal(headers['x-loupe-signature'], expected);
      assert.equal(JSON.parse(body).data.id, accepted.id);
      assert.equal(JSON.parse(body).event, 'job.completed');
      // The job shows the outcome, never a network error's text (the first try got a 500).
      let status = '';
      for (let i = 0; i < 50 && !status.startsWith('delivered'); i++) {
        status = (await json(await fetch(`${srv.url}/jobs/${accepted.id}`))).webhook.status ?? '';
        if (!status.startsWith('delivered')) await sleep(100);
      }
      assert.equal(status, 'delivered (204)');
    });

    it('Idempotency-Key returns the first job; bad job requests get 4xx', async () => {
      // A key of its own per run: a PostgreSQL test database may outlive one run.
      const key = `same-key-${randomUUID()}`;
      const a = await submit([fixture('dog-160x120.png')], {}, { 'idempotency-key': key });
      const b = await submit([fixture('dog-160x120.png')], {}, { 'idempotency-key': key });
      assert.equal(a.status, 202);
      assert.equal(b.status, 200);
      assert.equal((await json(a)).id, (await json(b)).id);
      // The same key with a different request is refused (draft-ietf-httpapi-idempotency-key-header).
      const c = await submit([fixture('dog-160x120.png'), fixture('dog-160x120.png')], {}, { 'idempotency-key': key });
      assert.equal(c.status, 422);
      assert.equal((await json(c)).error.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal((await submit([])).status, 400);
      assert.equal((await submit([fixture('dog-160x120.png')], { webhook_url: 'ftp://x' })).status, 400);
      // Credentials and literal addresses outside the allow-list are refused at once (no traffic).
      for (const webhook_url of [
        'https://user:pw@example.com/hook',
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]:8000/',
        'http://127.0.0.2/',
        'http://10.0.0.5/',
      ]) {
        const res = await submit([fixture('dog-160x120.png')], { webhook_url });
        const body = await json(res);
        assert.equal(res.status, 400, webhook_url);
        assert.equal(body.error.code, 'BAD_REQUEST');
      }
      assert.equal((await submit([fixture('dog-160x120.png')], { metadata: '[1]' })).status, 400);
      assert.equal((await fetch(`${srv.url}/jobs/00000000-0000-0000-0000-000000000000`)).status, 404);
    });

    it('jobs and history survive a restart', async () => {
      const before = await json(await fetch(`${srv.url}/predictions?limit=500`));
      await srv.stop();
      srv = await startServe(env);
      const afterList = await json(await fetch(`${srv.url}/predictions?limit=500`));
      // Nothing recorded is lost (jobs of earlier tests may still add predictions meanwhile).
      const kept = new Set(afterList.items.map((p: { id: string }) => p.id));
      for (const p of before.items) assert.ok(kept.has(p.id), `prediction ${p.id} lost across the restart`);
      assert.ok(before.items.length > 0);
      // A job queued just before a stop is picked up by the next process.
      const accepted = await json(await submit([fixture('dog-160x120.jpg')]));
      await srv.stop();
      srv = await startServe(env);
      assert.equal((await waitJob(accepted.id)).status, 'completed');
    });
  });
}
