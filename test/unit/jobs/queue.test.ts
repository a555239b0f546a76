import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import { createQueue } from '../../../src/jobs/index.ts';
import { openDatabase, type Database } from '../../../src/storage/index.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

for (const [engine, url] of engines) {
  describe(`job queue supervision on ${engine}`, () => {
    let db: Database;
    let boss: PgBoss;
    const errors: Error[] = [];

    before(async () => {
      db = await openDatabase({ url, dataDir: 'memory://' });
      // A schema of its own, so this never meets the jobs of another test on the same server.
      boss = await createQueue(db, {
        schema: `pgboss_t${process.pid}`,
        migrate: true,
        supervise: true,
        superviseIntervalSeconds: 1,
      });
      boss.on('error', (err: Error) => errors.push(err));
    });
    after(async () => {
      await boss?.stop({ graceful: false, close: false, timeout: 2000 }).catch(() => undefined);
      if (url) await db.query(`DROP SCHEMA IF EXISTS pgboss_t${process.pid} CASCADE`).catch(() => undefined);
      await db?.close();
    });

    it('a job whose worker stops heartbeating is handed out again (at-least-once), with no queue errors', async () => {
      await boss.createQueue('lapse', { heartbeatSeconds: 10, retryLimit: 3, retryDelay: 0, expireInSeconds: 900 });
      const id = await boss.send('lapse', { n: 1 });
      const [first] = await boss.fetch('lapse');
      assert.equal(first?.id, id);
      // The "worker" now vanishes: no heartbeat, no completion. Supervision must notice.
      let again;
      for (let i = 0; i < 60 && !again; i++) {
        await sleep(500);
        [again] = await boss.fetch('lapse');
      }
      assert.equal(again?.id, id, 'the job was not handed out again after its heartbeat lapsed');
      assert.deepEqual(
        errors.map((e) => e.message),
        [],
      );
    });
  });
}
