import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CLASSIFY_QUEUE, WEBHOOK_QUEUE, createQueue } from '../../../src/jobs/index.ts';
import {
  latestMigration,
  migrate,
  openDatabase,
  schemaMissing,
  waitForDatabase,
  waitForSchema,
  type Database,
} from '../../../src/storage/index.ts';

const queues = [CLASSIFY_QUEUE, WEBHOOK_QUEUE];

describe('waiting for the migration (the stack starts in any order)', () => {
  const open: Database[] = [];
  after(async () => {
    for (const db of open) await db.close().catch(() => undefined);
  });

  it('a fresh database is not ready; it becomes ready once migrate and the queues have run', async () => {
    const db = await openDatabase({ url: '', dataDir: 'memory://' });
    open.push(db);
    assert.ok(latestMigration() >= 5);
    assert.match((await schemaMissing(db, { queues }))!, /schema at version 0, this build needs \d+/);
    await assert.rejects(waitForSchema(db, { queues, timeoutMs: 200, everyMs: 50 }), /database not ready after 0 s/);

    const told: string[] = [];
    let done = false;
    const waiting = waitForSchema(db, { queues, timeoutMs: 30_000, everyMs: 50, onWait: (r) => told.push(r) }).then(
      () => (done = true),
    );
    await migrate(db);
    // Tables migrated, queues not yet: still waiting (pg-boss comes last in `loupe migrate`).
    assert.match((await schemaMissing(db, { queues }))!, /job queues not created yet/);
    assert.equal(done, false);
    const boss = await createQueue(db, { migrate: true, supervise: false });
    await waiting;
    await boss.stop({ graceful: false, close: false });
    assert.equal(told.length, 1, 'told once, not on every poll');
    assert.equal(await schemaMissing(db, { queues }), undefined);
  });

  it('an unreachable PostgreSQL is retried until the deadline, then named in one line', async () => {
    const db = await openDatabase({ url: 'postgres://loupe@127.0.0.1:1/loupe', dataDir: 'memory://' });
    open.push(db);
    const t0 = Date.now();
    const told: string[] = [];
    await assert.rejects(
      waitForSchema(db, { queues, timeoutMs: 1200, everyMs: 100, onWait: (r) => told.push(r) }),
      /^Error: database not ready after 1 s: database unreachable: .*ECONNREFUSED/,
    );
    assert.ok(Date.now() - t0 >= 1100, 'gave up before the deadline');
    assert.match(told[0]!, /ECONNREFUSED/);
  });

  it('`loupe migrate` waits for PostgreSQL to answer (bounded), not for a schema it makes itself', async () => {
    const down = await openDatabase({ url: 'postgres://loupe@127.0.0.1:1/loupe', dataDir: 'memory://' });
    open.push(down);
    const t0 = Date.now();
    await assert.rejects(
      waitForDatabase(down, { timeoutMs: 600, everyMs: 100 }),
      /^Error: database not ready after 1 s: database unreachable: .*ECONNREFUSED/,
    );
    assert.ok(Date.now() - t0 < 5000, 'not bounded by its timeout');
    // An empty database answers: nothing to wait for, the migration comes next.
    const fresh = await openDatabase({ url: '', dataDir: 'memory://' });
    open.push(fresh);
    await waitForDatabase(fresh, { timeoutMs: 0 });
  });
});
