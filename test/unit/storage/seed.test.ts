import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../../../src/config/index.ts';
import { createLogger } from '../../../src/observability/index.ts';
import { writeSeed } from '../../../src/roles/index.ts';
import { openStorage } from '../../../src/roles/common.ts';
import { initdbInChild } from '../../../src/storage/pglite.ts';

const tmp = (p: string) => mkdtempSync(path.join(os.tmpdir(), p));
/** The newest schema version: one migration file per version. */
const LATEST = String(readdirSync(path.resolve(import.meta.dirname, '../../../src/storage/migrations')).length);

/** A logger whose messages land in `lines`. */
function capture() {
  const lines: string[] = [];
  const logger = createLogger('info', {
    pretty: false,
    destination: {
      write: (s: string) => {
        lines.push(s);
        return true;
      },
    },
  });
  return { logger, lines };
}

describe('PGlite seed (LOUPE_PGLITE_SEED)', () => {
  let seed = '';
  before(async () => {
    seed = path.join(tmp('loupe-seed-'), 'seed.tar.gz');
    await writeSeed(loadConfig({ LOUPE_LOG_LEVEL: 'silent' }), createLogger('silent', { pretty: false }), seed);
  });

  it('`writeSeed` writes a gzip tarball of a migrated database', () => {
    assert.ok(statSync(seed).size > 100_000);
  });

  it('an empty data directory starts from the seed: schema already current, queue usable, data persists', async () => {
    const dataDir = tmp('loupe-seeded-');
    const config = loadConfig({ LOUPE_DATA_DIR: dataDir, LOUPE_PGLITE_SEED: seed, LOUPE_LOG_LEVEL: 'silent' });
    const { logger, lines } = capture();
    const s = await openStorage(config, logger, { migrate: true, supervise: false });
    const v = await s.db.query<{ version: string }>('SELECT max(version)::text AS version FROM loupe_schema_version');
    assert.equal(v.rows[0]!.version, LATEST);
    const rec = await s.history.record(
      {
        model: { name: 'm', version: '1' },
        predictions: [{ label: 'cat', index: 0, score: 0.9 }],
        image: { format: 'png', width: 1, height: 1 },
        timings_ms: { decode: 1, preprocess: 1, queue: 0, inference: 1, total: 3 },
        warnings: [],
      },
      new Uint8Array([1, 2, 3]),
      { metadata: {} },
    );
    await s.boss.createQueue('seed-check');
    await s.boss.send('seed-check', { ok: true });
    await s.close();
    assert.deepEqual(lines, [], 'nothing to migrate and no warning: the seed was used');
    assert.ok(existsSync(path.join(dataDir, 'pglite', 'PG_VERSION')));

    // A second start opens the same directory; the seed is not unpacked over existing data.
    const again = await openStorage(config, logger, { migrate: true, supervise: false });
    assert.equal((await again.history.get(rec.id))?.model.name, 'm');
    await again.close();
  });

  it('an unusable seed is reported and a new database is made instead', async () => {
    const bad = path.join(tmp('loupe-bad-seed-'), 'seed.tar.gz');
    writeFileSync(bad, 'not a tarball');
    const { logger, lines } = capture();
    const config = loadConfig({
      LOUPE_DATA_DIR: tmp('loupe-bad-seeded-'),
      LOUPE_PGLITE_SEED: bad,
      LOUPE_LOG_LEVEL: 'silent',
    });
    const s = await openStorage(config, logger, { migrate: true, supervise: false });
    const v = await s.db.query<{ version: string }>('SELECT max(version)::text AS version FROM loupe_schema_version');
    assert.equal(v.rows[0]!.version, LATEST);
    await s.close();
    assert.match(lines[0]!, /PGlite seed unusable; initialising a new database instead/);
    assert.match(lines[1]!, new RegExp(`database migrated from version 0 to ${LATEST}`));
  });
});

describe('PGlite initdb in a child process', () => {
  it('makes a new data directory in its own process and renames it into place', async () => {
    const dir = path.join(tmp('loupe-initdb-'), 'pglite');
    assert.equal(await initdbInChild(dir), true);
    assert.ok(existsSync(path.join(dir, 'PG_VERSION')));
    assert.deepEqual(readdirSync(path.dirname(dir)), ['pglite'], 'no staging directory left behind');
  });

  it('a new install without a seed (serve) starts on the directory the child made', async () => {
    const dataDir = tmp('loupe-unseeded-');
    const { logger, lines } = capture();
    const config = loadConfig({ LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'silent' });
    const s = await openStorage(config, logger, { migrate: true, supervise: false, initdb: 'child' });
    const v = await s.db.query<{ version: string }>('SELECT max(version)::text AS version FROM loupe_schema_version');
    assert.equal(v.rows[0]!.version, LATEST);
    await s.close();
    assert.match(lines[0]!, new RegExp(`database migrated from version 0 to ${LATEST}`));
    assert.deepEqual(readdirSync(dataDir), ['pglite']);
  });
});
