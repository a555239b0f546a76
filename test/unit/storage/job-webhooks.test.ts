import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { JobStore, migrate, openDatabase, type Database } from '../../../src/storage/index.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

for (const [engine, url] of engines) {
  describe(`a job's webhook record on ${engine}`, () => {
    let db: Database;
    let store: JobStore;
    const made: string[] = [];

    before(async () => {
      db = await openDatabase({ url, dataDir: 'memory://' });
      await migrate(db);
      store = new JobStore(db);
    });
    after(async () => {
      if (url && made.length)
        await db.query('DELETE FROM jobs WHERE id = ANY($1::uuid[])', [made]).catch(() => undefined);
      await db?.close();
    });

    const newJob = async () => {
      const { id } = await store.create({
        images: [{ bytes: new Uint8Array([1, 2, 3]) }],
        metadata: {},
        webhookUrl: 'https://hooks.example/in',
      });
      made.push(id);
      return id;
    };

    it('attempts are counted; the outcome is final once decided', async () => {
      const id = await newJob();
      assert.deepEqual((await store.get(id))!.webhook, {
        url: 'https://hooks.example/in',
        status: null,
        state: 'pending',
        attempts: 0,
        last_error: null,
        last_status: null,
        delivered_at: null,
      });
      assert.equal(await store.webhooks.beginAttempt(id), 1);
      await store.webhooks.record(id, { kind: 'retrying' });
      await store.webhooks.record(id, { kind: 'deferred' });
      let w = (await store.get(id))!.webhook!;
      assert.deepEqual(
        [w.state, w.status, w.attempts, w.last_error],
        ['pending', 'retrying: delivery failed', 1, 'receiver circuit open'],
      );
      assert.equal(await store.webhooks.beginAttempt(id), 2);
      await store.webhooks.record(id, { kind: 'failed', attempts: 2 });
      w = (await store.get(id))!.webhook!;
      assert.deepEqual(
        [w.state, w.status, w.attempts, w.last_error, w.delivered_at],
        ['failed', 'failed: not delivered after 2 attempts', 2, 'delivery failed', null],
      );
      // A duplicate queue entry finds it decided: no attempt, no change.
      assert.equal(await store.webhooks.beginAttempt(id), undefined);
      await store.webhooks.record(id, { kind: 'delivered', status: 204 });
      assert.deepEqual((await store.get(id))!.webhook, w);
    });

    it('a delivery records its status and time; a refusal is final too', async () => {
      const id = await newJob();
      await store.webhooks.beginAttempt(id);
      await store.webhooks.record(id, { kind: 'delivered', status: 202 });
      const w = (await store.get(id))!.webhook!;
      assert.deepEqual([w.state, w.status, w.last_status, w.last_error], ['delivered', 'delivered (202)', 202, null]);
      assert.ok(Date.now() - Date.parse(w.delivered_at!) < 60_000);
      const refused = await newJob();
      await store.webhooks.beginAttempt(refused);
      await store.webhooks.record(refused, { kind: 'refused' });
      const r = (await store.get(refused))!.webhook!;
      assert.deepEqual(
        [r.state, r.status, r.last_error],
        ['refused', 'refused: the webhook address is not allowed', 'the webhook address is not allowed'],
      );
      assert.equal(await store.webhooks.beginAttempt(refused), undefined);
    });

    it("the migration keeps what earlier versions' status words decided", async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
      made.push(...ids);
      const words = [
        'delivered (204)',
        'refused: the webhook address is not allowed',
        'retrying: delivery failed',
        'retrying: delivery failed',
      ];
      // The last one finished two hours ago: its retries ran out long since.
      const completed = ['now()', 'now()', 'now()', "now() - interval '2 hours'"];
      for (const [i, id] of ids.entries())
        await db.query(
          `INSERT INTO jobs (id, status, total, webhook_url, webhook_status, completed_at)
           VALUES ($1, 'completed', 1, 'https://hooks.example/', $2, ${completed[i]})`,
          [id, words[i]],
        );
      // The migration is idempotent: run again, it fills in only rows it has not decided yet.
      await db.exec(
        readFileSync(new URL('../../../src/storage/migrations/007.do.webhook-delivery.sql', import.meta.url), 'utf8'),
      );
      const views = await Promise.all(ids.map(async (id) => (await store.get(id))!.webhook!));
      assert.deepEqual(
        views.map((w) => [w.state, w.status, w.last_status]),
        [
          ['delivered', 'delivered (204)', 204],
          ['refused', 'refused: the webhook address is not allowed', null],
          ['pending', 'retrying: delivery failed', null],
          ['failed', 'retrying: delivery failed', null],
        ],
      );
    });

    it('the backlog counts waiting and running jobs and the age of the oldest waiting one', async () => {
      const before = await store.backlog();
      const a = await newJob();
      await db.query(`UPDATE jobs SET created_at = now() - interval '90 seconds' WHERE id = $1`, [a]);
      const b = await newJob();
      await store.markRunning(b);
      const after = await store.backlog();
      assert.equal(after.queued, before.queued + 1);
      assert.equal(after.running, before.running + 1);
      assert.ok(after.oldestQueuedS >= 90, String(after.oldestQueuedS));
    });
  });
}
