import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { Display, summary } from '../../../src/cli/client/display.ts';
import { retryAfter } from '../../../src/cli/client/http.ts';
import { rowWriter, type ResultRow } from '../../../src/cli/client/output.ts';
import { walk, type WalkCounts } from '../../../src/cli/client/walk.ts';
import { planJobs } from '../../../src/cli/client/job-split.ts';
import { closest, parseFlags } from '../../../src/cli/parse-flags.ts';
import { UsageError } from '../../../src/cli/flags.ts';
import { tempDir } from '../../helpers/server.ts';

const ok = (file: string, labels: Array<[string, number]>): ResultRow => ({
  file,
  result: {
    id: 'p1',
    model: { name: 'm', version: '2' },
    predictions: labels.map(([label, score], index) => ({ label, index, score })),
  },
});

describe('loupe predict output', () => {
  it('CSV quotes what needs it and pads top-k pairs; a failed file has only file and error', () => {
    let out = '';
    const w = rowWriter('csv', (s) => (out += s), 2);
    w.row(
      ok('a, "b"\nc.png', [
        ['Ankle, boot', 0.9],
        ['Sandal', 0.1],
      ]),
    );
    w.row(ok('one.png', [['x', 1]]));
    w.row({
      file: 'doc.pdf',
      error: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'pdf', request_id: 'r1' },
    });
    w.end();
    assert.deepEqual(parse(out), [
      ['file', 'label', 'score', 'label_2', 'score_2', 'model', 'version', 'prediction_id', 'error'],
      ['a, "b"\nc.png', 'Ankle, boot', '0.9', 'Sandal', '0.1', 'm', '2', 'p1', ''],
      ['one.png', 'x', '1', '', '', 'm', '2', 'p1', ''],
      ['doc.pdf', '', '', '', '', '', '', '', '415 UNSUPPORTED_MEDIA_TYPE: pdf (request id r1)'],
    ]);
  });

  it('CSV defuses cells a spreadsheet would run as formulas, and leaves scores as numbers', () => {
    let out = '';
    const w = rowWriter('csv', (s) => (out += s), 1);
    w.row(ok('=HYPERLINK("http://x")', [['+cmd', 1e-7]]));
    w.row(ok('-2.png', [['@label', 0.5]]));
    w.row(ok('plain.png', [['x', 0.5]]));
    const rows = (parse(out) as string[][]).slice(1).map((r) => r.slice(0, 3));
    assert.deepEqual(rows, [
      [`'=HYPERLINK("http://x")`, "'+cmd", '1e-7'],
      ["'-2.png", "'@label", '0.5'],
      ['plain.png', 'x', '0.5'],
    ]);
  });

  it("table: the top label on the file's line; with --top-k, ranks 2…k below it; without, the top one only", () => {
    const three = ok('boot.png', [
      ['Ankle boot', 0.9],
      ['Sneaker', 0.06],
      ['Sandal', 0.04],
    ]);
    let out = '';
    const w = rowWriter('table', (s) => (out += s), 3);
    w.row(three);
    w.row({ file: 'doc.pdf', error: { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'pdf' } });
    assert.deepEqual(out.split('\n').slice(0, -1), [
      `${'LABEL'.padEnd(24)}   SCORE  FILE`,
      `${'Ankle boot'.padEnd(24)}  0.9000  boot.png`,
      `${'  2. Sneaker'.padEnd(24)}  0.0600`,
      `${'  3. Sandal'.padEnd(24)}  0.0400`,
      `${'(failed)'.padEnd(24)}       -  doc.pdf  415 UNSUPPORTED_MEDIA_TYPE: pdf`,
    ]);
    out = '';
    rowWriter('table', (s) => (out += s)).row(three);
    assert.equal(out.trimEnd().split('\n').length, 2, out);
  });

  it('JSON is one array, written row by row, and valid when empty', () => {
    let out = '';
    const w = rowWriter('json', (s) => (out += s));
    w.end();
    assert.deepEqual(JSON.parse(out), []);
    out = '';
    const w2 = rowWriter('json', (s) => (out += s));
    w2.row(ok('a.png', [['x', 1]]));
    w2.row({ file: 'b.png', error: { code: 'READ_ERROR', message: 'EACCES' } });
    w2.end();
    assert.deepEqual(
      (JSON.parse(out) as ResultRow[]).map((r) => r.file),
      ['a.png', 'b.png'],
    );
  });
});

describe('loupe predict display', () => {
  it('on a terminal: a progress line redrawn in place, cleared before other lines', () => {
    const out: string[] = [];
    let t = 0;
    const d = new Display(
      (s) => out.push(s),
      true,
      'classifying',
      () => t,
    );
    d.start();
    t = 50;
    d.progress(1, undefined, 0); // within 100 ms of the last draw: skipped
    t = 1000;
    d.progress(3, 10, 1);
    d.line('x.png: failed');
    d.clear();
    const text = out.join('');
    assert.equal(out.length, 3, JSON.stringify(out));
    assert.equal(
      out[0],
      `\r\x1b[2Kclassifying (1 failed)  [${'#'.repeat(6)}${'.'.repeat(14)}] 3 / 10  30%  3.0 img/s  ETA 0:02`,
    );
    assert.ok(text.endsWith('\r\x1b[2Kx.png: failed\n'), JSON.stringify(text));
  });

  it('piped: no progress at all, only the lines', () => {
    const out: string[] = [];
    const d = new Display((s) => out.push(s), false, 'classifying');
    d.start();
    d.progress(3, 10, 0);
    d.line('x.png: failed');
    d.clear();
    assert.deepEqual(out, ['x.png: failed\n']);
  });

  it('the summary counts classified images per second', () => {
    assert.equal(summary(30, 2, 1, 2), '30 done, 2 failed, 1 skipped (not an image extension) in 2.0 s (15.0 img/s)');
  });
});

describe('loupe predict walk', () => {
  it('takes image extensions in directories, any named file, and no linked directory', async () => {
    const dir = tempDir('loupe-walk-');
    mkdirSync(path.join(dir, 'sub'));
    for (const f of ['a.JPG', 'b.png', 'notes.txt', 'sub/c.webp', 'sub/.DS_Store'])
      writeFileSync(path.join(dir, f), 'x');
    symlinkSync(path.join(dir, 'sub'), path.join(dir, 'loop')); // would walk sub twice (or forever)
    symlinkSync(path.join(dir, 'b.png'), path.join(dir, 'link.png'));
    const named = path.join(dir, 'notes.txt');
    const counts: WalkCounts = { found: 0, finished: false, skipped: 0 };
    const seen: string[] = [];
    for await (const f of walk([dir, named], counts)) seen.push(path.relative(dir, f));
    assert.deepEqual(seen.sort(), ['a.JPG', 'b.png', 'link.png', 'notes.txt', 'sub/c.webp']);
    assert.deepEqual(counts, { found: 5, finished: true, skipped: 2 });
  });
});

describe('loupe predict Retry-After', () => {
  it('reads seconds and HTTP dates; a past date is 0, anything else is ignored', () => {
    assert.equal(retryAfter('7'), 7);
    assert.equal(retryAfter(' 120 '), 120);
    assert.equal(retryAfter(['3', '9']), 3);
    const in30s = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30_000).toUTCString();
    const s = retryAfter(in30s)!;
    assert.ok(s >= 30 && s <= 31, `${in30s}: ${s}`);
    assert.equal(retryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), 0);
    assert.equal(retryAfter('soon'), undefined);
    assert.equal(retryAfter(undefined), undefined);
  });
});

describe("loupe jobs submit: splitting by the server's limits", () => {
  const limits = { max_job_images: 3, max_upload_bytes: 1000, max_job_bytes: 20_000 };
  const files = (n: number, bytes = 100) => Array.from({ length: n }, (_, i) => ({ path: `f${i}.png`, bytes }));

  it('one job when the selection fits (or the server publishes no limits)', () => {
    assert.deepEqual(planJobs(files(3), limits), { jobs: [[0, 1, 2]] });
    assert.deepEqual(planJobs(files(5), undefined), { jobs: [[0, 1, 2, 3, 4]] });
  });

  it('at most max_job_images per job, in order, with a line naming LOUPE_MAX_JOB_IMAGES', () => {
    const plan = planJobs(files(7), limits);
    assert.deepEqual(plan.jobs, [[0, 1, 2], [3, 4, 5], [6]]);
    assert.equal(
      plan.why,
      '7 images are more than one job may carry on this server (3, LOUPE_MAX_JOB_IMAGES): sending them as 3 jobs',
    );
  });

  it('bodies stay under max_job_bytes; a file over max_upload_bytes is refused before anything is sent', () => {
    const plan = planJobs(files(3, 900), { ...limits, max_job_bytes: 10_500 });
    assert.deepEqual(plan.jobs, [[0], [1], [2]]);
    assert.match(plan.why!, /LOUPE_MAX_JOB_BYTES/);
    assert.throws(() => planJobs([...files(2), { path: 'huge.png', bytes: 1001 }], limits), {
      message: /huge\.png is 1001 bytes, over the server's limit of 1000 bytes per image \(LOUPE_MAX_UPLOAD_BYTES\)/,
    });
  });
});

describe('flags: mistakes said for people', () => {
  const options = { 'top-k': { type: 'string' }, format: { type: 'string' }, json: { type: 'boolean' } } as const;
  const problem = (args: string[]) => {
    try {
      parseFlags(args, options);
    } catch (err) {
      assert.ok(err instanceof UsageError);
      return err.message;
    }
    return 'no error';
  };

  it('an unknown flag names the nearest known one, when one is near', () => {
    assert.equal(problem(['--topk', '3']), 'unknown flag --topk; did you mean --top-k?');
    assert.equal(problem(['--fromat=csv']), 'unknown flag --fromat; did you mean --format?');
    assert.equal(problem(['--top']), 'unknown flag --top; did you mean --top-k?');
    assert.equal(problem(['--colour']), 'unknown flag --colour');
    assert.equal(problem(['--format']), '--format needs a value');
    assert.equal(problem(['--json=yes']), '--json takes no value');
    assert.equal(closest('sotre', ['store', 'url']), 'store');
  });
});
