import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { JobStore, jobFingerprint, migrate, openDatabase, type Database } from '../../../src/storage/index.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

const images = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
const request = { model: 'm', topK: 2, metadata: { a: '1' } };

for (const [engine, url] of engines) {
  describe(`jobs received image by image on ${engine}`, () => {
    let db: Database;
    let store: JobStore;
    const made: string[] = [];
    const count = async (sql: string, params: unknown[]) =>
      (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;
    const receiving = (key?: string) =>
      count(`jobs WHERE status = 'receiving' AND owner IS NOT DISTINCT FROM $1`, [key ?? null]);

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

    it('images are stored as they arrive; the job is invisible until finished, then queued', async () => {
      const owner = `o-${randomUUID()}`;
      const staged = await store.stage({ owner });
      await staged.add('a.png', images[0]!);
      const { rows } = await db.query<{ id: string }>(`SELECT id FROM jobs WHERE status = 'receiving' AND owner = $1`, [
        owner,
      ]);
      const id = rows[0]!.id;
      assert.equal(await count('job_items WHERE job_id = $1', [id]), 1);
      assert.equal(await store.get(id), undefined, 'a job being received is not shown');
      await staged.add(undefined, images[1]!);
      const res = await staged.finish(request);
      made.push(res.id);
      assert.deepEqual(res, { id, created: true });
      const job = await store.get(id);
      assert.equal(job?.status, 'queued');
      assert.deepEqual(job?.progress, { total: 2, done: 0, failed: 0 });
      assert.deepEqual([job?.model, job?.top_k, job?.metadata], ['m', 2, { a: '1' }]);
      assert.deepEqual(
        job?.items.map((i) => i.filename),
        ['a.png', null],
      );
      const pending = [];
      for await (const item of store.pendingItems(id)) pending.push(item);
      assert.deepEqual(
        pending.map((p) => [p.idx, [...p.image]]),
        [
          [0, [1, 2, 3]],
          [1, [4, 5]],
        ],
      );
    });

    it('Idempotency-Key: the fingerprint is the one of a job sent whole; a repeat stores nothing', async () => {
      const key = `k-${randomUUID()}`;
      const send = async (over: Partial<typeof request> = {}, imgs = images) => {
        const staged = await store.stage({ idempotencyKey: key });
        for (const img of imgs) await staged.add('x.png', img);
        return staged.finish({ ...request, ...over, idempotencyKey: key });
      };
      const first = await send();
      made.push(first.id);
      assert.equal(first.created, true);
      const { rows } = await db.query<{ request_sha256: string }>('SELECT request_sha256 FROM jobs WHERE id = $1', [
        first.id,
      ]);
      const whole = await jobFingerprint({
        ...request,
        idempotencyKey: key,
        images: images.map((bytes) => ({ bytes })),
      });
      assert.equal(rows[0]!.request_sha256, whole);
      const before = await count('job_items', []);
      assert.deepEqual(await send(), { id: first.id, created: false, sameRequest: true });
      assert.deepEqual(await send({ topK: 3 }), { id: first.id, created: false, sameRequest: false });
      assert.deepEqual(await send({}, [images[0]!]), { id: first.id, created: false, sameRequest: false });
      assert.equal(await count('job_items', []), before, 'a repeated request stores no image');
    });

    it('concurrent uploads with one key make one job; the others leave nothing behind', async () => {
      const key = `k-${randomUUID()}`;
      const owner = `o-${randomUUID()}`;
      // Both start before either has the key, so both store their images.
      const staged = await Promise.all([1, 2, 3].map(() => store.stage({ idempotencyKey: key, owner })));
      for (const s of staged) for (const img of images) await s.add('x.png', img);
      assert.equal(await receiving(owner), 3);
      const res = await Promise.all(staged.map((s) => s.finish({ ...request, idempotencyKey: key })));
      made.push(res[0]!.id);
      assert.equal(new Set(res.map((r) => r.id)).size, 1);
      assert.equal(res.filter((r) => r.created).length, 1);
      assert.ok(res.every((r) => r.created || r.sameRequest));
      assert.equal(await receiving(owner), 0);
      assert.equal(await count('job_items WHERE job_id = $1', [res[0]!.id]), 2);
    });

    it('discard and the sweep remove a job being received with its images, and nothing else', async () => {
      const owner = `o-${randomUUID()}`;
      const refused = await store.stage({ owner });
      await refused.add('a.png', images[0]!);
      await refused.discard();
      assert.equal(await receiving(owner), 0);
      const abandoned = await store.stage({ owner });
      await abandoned.add('a.png', images[0]!);
      await store.removeAbandoned(3600);
      assert.equal(await receiving(owner), 1, 'a recent upload is left alone');
      await db.query(
        `UPDATE jobs SET updated_at = now() - interval '2 hours' WHERE status = 'receiving' AND owner = $1`,
        [owner],
      );
      assert.ok((await store.removeAbandoned(3600)) >= 1);
      assert.equal(await receiving(owner), 0);
      assert.equal(
        await count(`job_items i WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.job_id)`, []),
        0,
        'no orphaned images',
      );
    });
  });
}
