import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { JobStore, migrate, openDatabase, type Database, type NewJob } from '../../../src/storage/index.ts';
import { jobFingerprint } from '../../../src/storage/job-request.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

const job = (over: Partial<NewJob> = {}): NewJob => ({
  images: [{ filename: 'a.png', bytes: new Uint8Array([1, 2, 3]) }],
  metadata: { a: '1', b: '2' },
  ...over,
});

describe('job fingerprints', () => {
  it('follow what defines a job, not file names or metadata key order', async () => {
    const base = await jobFingerprint(job());
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(await jobFingerprint(job({ metadata: { b: '2', a: '1' } })), base);
    assert.equal(
      await jobFingerprint(job({ images: [{ filename: 'other.png', bytes: new Uint8Array([1, 2, 3]) }] })),
      base,
    );
    const different: Array<Partial<NewJob>> = [
      { images: [{ bytes: new Uint8Array([1, 2, 4]) }] },
      { images: [{ bytes: new Uint8Array([1, 2]) }, { bytes: new Uint8Array([3]) }] },
      { images: [{ bytes: new Uint8Array([1]) }, { bytes: new Uint8Array([2, 3]) }] },
      { images: [{ bytes: new Uint8Array([1, 2, 3]) }, { bytes: new Uint8Array([1, 2, 3]) }] },
      { metadata: { a: '1' } },
      { metadata: { a: '1', b: '3' } },
      { model: 'm' },
      { version: '2' },
      { topK: 3 },
      { webhookUrl: 'https://example.com/hook' },
    ];
    const seen = new Set([base]);
    for (const d of different) {
      const f = await jobFingerprint(job(d));
      assert.ok(!seen.has(f), JSON.stringify(d));
      seen.add(f);
    }
  });
});

for (const [engine, url] of engines) {
  describe(`Idempotency-Key in the job store on ${engine}`, () => {
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

    it('the same key and request → the first job; a different request → not the same request', async () => {
      const key = `k-${randomUUID()}`;
      const a = await store.create(job({ idempotencyKey: key }));
      made.push(a.id);
      assert.equal(a.created, true);
      const b = await store.create(job({ idempotencyKey: key, metadata: { b: '2', a: '1' } }));
      assert.deepEqual(b, { id: a.id, created: false, sameRequest: true });
      const c = await store.create(job({ idempotencyKey: key, topK: 2 }));
      assert.deepEqual(c, { id: a.id, created: false, sameRequest: false });
      // Without a key, every request is a job of its own.
      const d = await store.create(job());
      const e = await store.create(job());
      made.push(d.id, e.id);
      assert.notEqual(d.id, e.id);
    });

    it('concurrent creates with one key make one job, with its items once', async () => {
      const key = `k-${randomUUID()}`;
      const all = await Promise.all(Array.from({ length: 8 }, () => store.create(job({ idempotencyKey: key }))));
      const ids = new Set(all.map((r) => r.id));
      assert.equal(ids.size, 1);
      made.push(...ids);
      assert.equal(all.filter((r) => r.created).length, 1);
      assert.ok(all.every((r) => r.created || r.sameRequest));
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_items WHERE job_id = $1', [
        all[0]!.id,
      ]);
      assert.equal(rows[0]!.n, 1);
    });

    it('a job stored before fingerprints (none recorded) is still returned for its key', async () => {
      const key = `k-${randomUUID()}`;
      const a = await store.create(job({ idempotencyKey: key }));
      made.push(a.id);
      await db.query('UPDATE jobs SET request_sha256 = NULL WHERE id = $1', [a.id]);
      assert.deepEqual(await store.create(job({ idempotencyKey: key, topK: 4 })), {
        id: a.id,
        created: false,
        sameRequest: true,
      });
    });

    it('keys are unique per scope (per API key, once there are API keys)', async () => {
      const key = `k-${randomUUID()}`;
      const a = await store.create(job({ idempotencyKey: key }));
      const b = await store.create(job({ idempotencyKey: key, idempotencyScope: 'api-key-1' }));
      made.push(a.id, b.id);
      assert.equal(b.created, true);
      assert.notEqual(a.id, b.id);
    });
  });
}
