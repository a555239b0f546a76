import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { generateKey } from '../../src/auth/index.ts';
import { loupe } from '../helpers/cli-client.ts';
import { FIXTURES } from '../helpers/fixtures.ts';
import { startServe, tempDir, type TestServer } from '../helpers/server.ts';

const ANKLE_BOOT = path.resolve(import.meta.dirname, '../../docs/ankle-boot.png');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type CsvRow = Record<string, string>;

describe('loupe predict and loupe jobs against a real server', () => {
  let srv: TestServer;
  const predictKey = generateKey().key;
  const images = tempDir('loupe-cli-client-');
  const refused = tempDir('loupe-cli-client-refused-');
  let env: Record<string, string>;

  before(async () => {
    // A folder as people have them: photos at two levels, and a file that is not one.
    mkdirSync(path.join(images, 'boots'));
    copyFileSync(ANKLE_BOOT, path.join(images, 'boots', 'ankle boot, "first".png')); // a name CSV must quote
    for (const f of ['dog-160x120.jpg', 'dog-160x120.png', 'dog-orient6.jpg', 'gray-40x30.png'])
      copyFileSync(path.join(FIXTURES, f), path.join(images, f));
    writeFileSync(path.join(images, 'notes.txt'), 'not a photo\n');
    writeFileSync(path.join(refused, 'report.pdf'), '%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    writeFileSync(path.join(refused, 'readme.txt'), 'plain text, not an image\n');
    const keys = path.join(tempDir('loupe-cli-client-keys-'), 'api_keys');
    writeFileSync(keys, `cli predict ${predictKey}\n`);
    // The bundled Fashion-MNIST model, with API keys required.
    srv = await startServe({ LOUPE_AUTH: 'required', LOUPE_API_KEYS_FILE: keys });
    env = { LOUPE_URL: srv.url, LOUPE_API_KEY: predictKey };
  });
  after(() => srv?.stop());

  it('a directory to CSV: walked recursively, images only, parsed back row by row', async () => {
    const r = await loupe(['predict', images, '--format', 'csv', '--top-k', '3', '--concurrency', '3'], env);
    assert.equal(r.status, 0, r.stderr);
    const rows = parse(r.stdout, { columns: true }) as CsvRow[];
    assert.deepEqual(Object.keys(rows[0]!), [
      'file',
      'label',
      'score',
      'label_2',
      'score_2',
      'label_3',
      'score_3',
      'model',
      'version',
      'prediction_id',
      'error',
    ]);
    assert.deepEqual(rows.map((x) => path.relative(images, x.file!)).sort(), [
      'boots/ankle boot, "first".png',
      'dog-160x120.jpg',
      'dog-160x120.png',
      'dog-orient6.jpg',
      'gray-40x30.png',
    ]);
    for (const row of rows) {
      assert.equal(row.error, '');
      assert.match(row.prediction_id!, UUID);
      assert.deepEqual([row.model, row.version], ['fashion-mnist', '1']);
      const scores = [row.score, row.score_2, row.score_3].map(Number);
      assert.ok(scores[0]! >= scores[1]! && scores[1]! >= scores[2]! && scores[2]! > 0, JSON.stringify(row));
    }
    const boot = rows.find((x) => x.file!.endsWith('"first".png'))!;
    assert.equal(boot.label, 'Ankle boot');
    assert.ok(Number(boot.score) > 0.9);
    assert.match(r.stderr, /^5 done, 0 failed, 1 skipped \(not an image extension\) in [\d.]+ s \([\d.]+ img\/s\)\n$/);
    assert.ok(!r.stderr.includes('\x1b'), 'no progress line when stderr is not a terminal');
  });

  it('refused files (a PDF, a text file) are reported with the request id and counted; exit 1', async () => {
    const pdf = path.join(refused, 'report.pdf');
    const txt = path.join(refused, 'readme.txt');
    const r = await loupe(['predict', pdf, ANKLE_BOOT, txt, '--format', 'json'], env);
    assert.equal(r.status, 1, r.stderr);
    const out = JSON.parse(r.stdout) as Array<{ file: string; result?: unknown; error?: Record<string, unknown> }>;
    assert.equal(out.length, 3);
    const byFile = new Map(out.map((x) => [x.file, x]));
    const pdfError = byFile.get(pdf)!.error!;
    assert.equal(pdfError.status, 415);
    assert.equal(pdfError.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(String(pdfError.request_id), /\S+/);
    assert.ok(byFile.get(txt)!.error, 'the text file failed');
    assert.ok(byFile.get(ANKLE_BOOT)!.result);
    assert.match(r.stderr, new RegExp(`${pdf}: failed: 415 UNSUPPORTED_MEDIA_TYPE: .*\\(request id `));
    assert.match(r.stderr, /\n1 done, 2 failed in /);
  });

  it('table format; auth: no key or a wrong one stops the run at once, the key is never printed', async () => {
    const table = await loupe(['predict', ANKLE_BOOT, '--format', 'table', '--key', predictKey], {
      LOUPE_URL: srv.url,
    });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^LABEL\s+SCORE\s+FILE\nAnkle boot\s+0\.98\d\d\s+\S*ankle-boot\.png\n$/);
    assert.ok(!(table.stdout + table.stderr).includes(predictKey));

    const none = await loupe(['predict', images], { LOUPE_URL: srv.url });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /loupe predict: stopped: 401 UNAUTHORIZED: /);
    assert.match(none.stderr, /\n0 done, [1-4] failed/); // stopped after the requests in flight, not 5
    const wrong = generateKey().key;
    const bad = await loupe(['predict', ANKLE_BOOT], { LOUPE_URL: srv.url, LOUPE_API_KEY: wrong });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /401 UNAUTHORIZED/);
    assert.ok(!(bad.stdout + bad.stderr).includes(wrong));
  });

  it('honours Retry-After on 429 and 503, then gives up after --retries', async () => {
    // In front of the server: answers the statuses in `refusals` (Retry-After: 1), then forwards.
    const seen: number[] = [];
    let refusals: number[] = [];
    const proxy = http.createServer((req, res) => {
      seen.push(performance.now());
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const status = refusals.shift();
        if (status) {
          const code = status === 429 ? 'RATE_LIMITED' : 'OVERLOADED';
          res.writeHead(status, { 'retry-after': '1', 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code, message: 'try later', request_id: 'proxy-1' } }));
          return;
        }
        const headers = { 'content-type': req.headers['content-type']!, authorization: req.headers.authorization! };
        fetch(`${srv.url}${req.url}`, { method: req.method!, headers, body: Buffer.concat(chunks) }).then(
          async (up) => res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text()),
          () => res.writeHead(502).end(),
        );
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      refusals = [429, 503];
      const r = await loupe(['predict', ANKLE_BOOT, '--format', 'csv', '--url', url], env);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(seen.length, 3);
      assert.ok(seen[1]! - seen[0]! >= 950 && seen[2]! - seen[1]! >= 950, `waited: ${seen.join(', ')}`);
      assert.equal((parse(r.stdout, { columns: true }) as CsvRow[])[0]!.label, 'Ankle boot');
      assert.match(r.stderr, /429 RATE_LIMITED; retry 1\/5 in 1 s\n[\s\S]*503 OVERLOADED; retry 2\/5 in 1 s\n/);

      seen.length = 0;
      refusals = [429, 429, 429];
      const gaveUp = await loupe(['predict', ANKLE_BOOT, '--retries', '1', '--url', url], env);
      assert.equal(gaveUp.status, 1);
      assert.equal(seen.length, 2, 'one try and one retry');
      assert.match(gaveUp.stderr, /failed: 429 RATE_LIMITED: try later \(request id proxy-1\)/);
      assert.match(gaveUp.stderr, /\n0 done, 1 failed in /);
    } finally {
      proxy.close();
    }
  });

  it('jobs submit prints the id; jobs watch follows it to completion and prints the results', async () => {
    const submitted = await loupe(['jobs', 'submit', images, '--top-k', '2'], env);
    assert.equal(submitted.status, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    assert.match(id, UUID);
    assert.match(submitted.stderr, /queued: 5 image\(s\); 1 skipped/);

    const watched = await loupe(['jobs', 'watch', id, '--format', 'json'], env);
    assert.equal(watched.status, 0, watched.stderr);
    const out = JSON.parse(watched.stdout) as Array<{ file: string; result: { predictions: unknown[] } }>;
    assert.equal(out.length, 5);
    assert.ok(out.every((x) => x.result.predictions.length === 2));
    assert.match(watched.stderr, new RegExp(`job ${id} completed: 5 done, 0 failed in `));

    // With --watch, and a file the worker cannot decode: the job ends, that item failed, exit 1.
    const pdf = path.join(refused, 'report.pdf');
    const both = await loupe(['jobs', 'submit', ANKLE_BOOT, pdf, '--watch', '--format', 'csv'], env);
    assert.equal(both.status, 1, both.stderr);
    const rows = parse(both.stdout, { columns: true }) as CsvRow[];
    assert.deepEqual(
      rows.map((x) => [x.file, x.label, x.error!.split(':')[0]]),
      [
        [ANKLE_BOOT, 'Ankle boot', ''],
        [pdf, '', 'UNSUPPORTED_MEDIA_TYPE'],
      ],
    );
    assert.match(both.stderr, /completed: 1 done, 1 failed/);
  });

  it('usage errors exit 2; the client loads nothing of the server (ONNX Runtime, sharp, PGlite, Fastify…)', async () => {
    for (const args of [
      ['predict'],
      ['predict', images, '--format', 'xml'],
      ['predict', path.join(images, 'missing.png')],
      ['jobs', 'watch', 'not-an-id'],
    ]) {
      const r = await loupe(args, env);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^loupe (predict|jobs): .+\(loupe \w+ --help shows the usage\)\n$/);
    }
    const hook =
      "import{registerHooks}from'node:module';registerHooks({resolve(s,c,n){const r=n(s,c);" +
      "if(/node_modules\\/(onnxruntime-node|sharp|@img|@electric-sql|pg-boss|pg|fastify|pino)\\//.test(r.url))process.stderr.write('HEAVY '+r.url+'\\n');return r}})";
    const r = await loupe(['predict', ANKLE_BOOT], env, [`--import=data:text/javascript,${encodeURIComponent(hook)}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /HEAVY/);
  });
});
