import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PgBoss } from 'pg-boss';
import { createQueue } from '../../../src/jobs/index.ts';
import { QueuePump } from '../../../src/jobs/pump.ts';
import { openDatabase, type Database } from '../../../src/storage/index.ts';

interface Item {
  n: number;
  group: string;
}

describe('QueuePump on PGlite', () => {
  let db: Database;
  let boss: PgBoss;
  const errors: Error[] = [];

  before(async () => {
    db = await openDatabase({ url: '', dataDir: 'memory://' });
    boss = await createQueue(db, { migrate: true, supervise: false });
  });
  after(async () => {
    await boss?.stop({ graceful: false, close: false, timeout: 2000 }).catch(() => undefined);
    await db?.close();
  });

  const pump = (queue: string, handle: (item: Item) => Promise<void>, concurrency = 3) =>
    new QueuePump<Item>(boss, {
      queue,
      concurrency,
      groupConcurrency: 1,
      pollMs: 100,
      handle,
      onError: (err) => errors.push(err),
    });
  const until = async (what: () => boolean, ms = 10_000) => {
    for (const t0 = Date.now(); !what() && Date.now() - t0 < ms;) await sleep(20);
    assert.ok(what(), 'timed out');
  };

  it('a group at its cap waits while other groups go ahead, within the concurrency', async () => {
    await boss.createQueue('pump-groups', { retryLimit: 0 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const running = new Map<string, number>();
    let peak = 0;
    let peakSlow = 0;
    const done: number[] = [];
    const p = pump('pump-groups', async (item) => {
      running.set(item.group, (running.get(item.group) ?? 0) + 1);
      peak = Math.max(
        peak,
        [...running.values()].reduce((a, b) => a + b, 0),
      );
      peakSlow = Math.max(peakSlow, running.get('slow') ?? 0);
      if (item.group === 'slow') await held;
      else await sleep(30);
      running.set(item.group, running.get(item.group)! - 1);
      done.push(item.n);
    });
    for (let n = 0; n < 4; n++) await boss.send('pump-groups', { n, group: 'slow' }, { group: { id: 'slow' } });
    for (let n = 4; n < 10; n++) {
      const group = `fast-${n % 3}`;
      await boss.send('pump-groups', { n, group }, { group: { id: group } });
    }
    p.start();
    // Every fast job finishes while the slow group's first job is still held.
    await until(() => done.filter((n) => n >= 4).length === 6);
    assert.equal(done.filter((n) => n < 4).length, 0);
    release();
    await until(() => done.length === 10);
    await p.stop();
    assert.equal(peakSlow, 1, 'two jobs of one group ran at once (cap 1)');
    assert.ok(peak <= 3, `${peak} handlers at once (concurrency 3)`);
    assert.deepEqual(errors, []);
  });

  it('a handler that throws has its job retried; one that resolves completes it', async () => {
    await boss.createQueue('pump-retry', { retryLimit: 2, retryDelay: 0 });
    const calls: number[] = [];
    const p = pump('pump-retry', async (item) => {
      calls.push(item.n);
      if (calls.length === 1) throw new Error('first try fails');
    });
    const id = await boss.send('pump-retry', { n: 7, group: 'g' });
    p.start();
    await until(() => calls.length === 2);
    await p.stop();
    for (let i = 0; i < 50 && (await boss.getJobById('pump-retry', id!))?.state !== 'completed'; i++) await sleep(20);
    assert.equal((await boss.getJobById('pump-retry', id!))?.state, 'completed');
    assert.deepEqual(calls, [7, 7]);
  });

  it('stop() takes no new job and waits for the one in hand, which completes', async () => {
    await boss.createQueue('pump-stop', { retryLimit: 0 });
    let started = 0;
    const p = pump(
      'pump-stop',
      async () => {
        started++;
        await sleep(300);
      },
      1,
    );
    const first = await boss.send('pump-stop', { n: 1, group: 'g' });
    p.start();
    await until(() => started === 1);
    await boss.send('pump-stop', { n: 2, group: 'h' });
    const t0 = Date.now();
    await p.stop();
    assert.ok(Date.now() - t0 >= 200, 'stop() did not wait for the handler');
    assert.equal(started, 1);
    assert.equal((await boss.getJobById('pump-stop', first!))?.state, 'completed');
  });
});
