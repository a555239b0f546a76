import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Classification } from '../../../src/inference/index.ts';
import { migrate, openDatabase, PredictionStore, type Database } from '../../../src/storage/index.ts';

// PGlite always; PostgreSQL where LOUPE_TEST_DATABASE_URL is set (CI).
const engines: Array<[string, string]> = [['PGlite', '']];
if (process.env.LOUPE_TEST_DATABASE_URL) engines.push(['PostgreSQL', process.env.LOUPE_TEST_DATABASE_URL]);

/** A classification of a model named for this run, so rows of earlier runs never match. */
const model = `group-commit-${randomUUID().slice(0, 8)}`;
const classification = (width = 768): Classification =>
  ({
    id: '',
    model: { name: model, version: '1' },
    predictions: [
      { label: 'cat', index: 3, score: 0.9 },
      { label: 'dog', index: 5, score: 0.1 },
    ],
    timings_ms: { decode: 1, preprocess: 1, queue: 0, inference: 2, total: 4 },
    image: { format: 'jpeg', width, height: 576 },
  }) as unknown as Classification;

for (const [engine, url] of engines) {
  describe(`prediction history on ${engine}`, () => {
    let db: Database;
    let store: PredictionStore;
    let inserts = 0;

    before(async () => {
      db = await openDatabase({ url, dataDir: 'memory://' });
      await migrate(db);
      // Count the INSERTs the store sends, to see concurrent records share them.
      const query = db.query.bind(db);
      db = {
        ...db,
        query: (text: string, params?: unknown[]) => {
          if (/^\s*INSERT INTO predictions/.test(text)) inserts++;
          return query(text, params);
        },
      } as Database;
      store = new PredictionStore(db, { keepImages: false });
    });
    after(async () => {
      if (url) await db.query('DELETE FROM predictions WHERE model = $1', [model]).catch(() => undefined);
      await db?.close();
    });

    it('records made at the same time share INSERTs (group commit), each stored as given', async () => {
      inserts = 0;
      const n = 40;
      const made = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store.record(classification(), new Uint8Array([i, 1, 2, 3]), { metadata: { n: String(i) } }),
        ),
      );
      assert.ok(inserts < n / 2, `${inserts} INSERTs for ${n} concurrent records`);
      for (const [i, r] of made.entries()) {
        assert.equal(r.metadata.n, String(i), 'each caller gets its own row back');
        const stored = await store.get(r.id);
        assert.deepEqual(stored, r);
        assert.equal(stored?.image.bytes, 4);
      }
    });

    it('a lone record is written at once, in one INSERT', async () => {
      inserts = 0;
      const r = await store.record(classification(), new Uint8Array([9]), { metadata: {} });
      assert.equal(inserts, 1);
      assert.equal((await store.get(r.id))?.model.name, model);
    });

    // A first record keeps the writer busy, so the ones after it go into one group together.
    const grouped = (...rest: Array<() => Promise<unknown>>) =>
      Promise.allSettled([
        store.record(classification(), new Uint8Array([0]), { metadata: {} }),
        ...rest.map((f) => f()),
      ]).then((r) => r.slice(1));

    it('a row the database refuses fails only its own caller', async () => {
      inserts = 0;
      const results = await grouped(
        () => store.record(classification(), new Uint8Array([1]), { metadata: {} }),
        () => store.record(classification(1.5), new Uint8Array([2]), { metadata: {} }), // width is an integer column
        () => store.record(classification(), new Uint8Array([3]), { metadata: {} }),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.match(String((results[1] as PromiseRejectedResult).reason), /integer/);
      assert.ok(inserts >= 5, 'the failed group was retried row by row');
    });

    it('the same id recorded twice in one group keeps the first record', async () => {
      const id = randomUUID();
      const results = await grouped(
        () => store.record(classification(), new Uint8Array([1]), { metadata: { which: 'first' }, id }),
        () => store.record(classification(), new Uint8Array([2]), { metadata: { which: 'second' }, id }),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled'],
      );
      const [a, b] = results.map(
        (r) => (r as PromiseFulfilledResult<{ id: string; metadata: Record<string, string> }>).value,
      );
      assert.equal(a!.id, id);
      assert.equal(b!.id, id);
      assert.deepEqual(b!.metadata, a!.metadata);
      assert.equal((await store.get(id))?.metadata.which, a!.metadata.which);
    });
  });
}
