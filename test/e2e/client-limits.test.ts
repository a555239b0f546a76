import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { loupe } from '../helpers/cli-client.ts';
import { FIXTURES, fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

describe('limits the clients know (GET /limits, one answer for too many images)', () => {
  let srv: TestServer;
  before(async () => {
    const store = tempDir('loupe-limits-');
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_MAX_JOB_IMAGES: '3',
      LOUPE_MAX_UPLOAD_BYTES: '2000000',
      LOUPE_MAX_JOB_BYTES: '9000000',
      LOUPE_RATE_LIMIT_PER_MINUTE: '5000',
      LOUPE_MAX_INFLIGHT_PER_CLIENT: '7',
    });
  });
  after(() => srv.stop());

  const submit = (n: number) => {
    const f = new FormData();
    const png = fixture('gray-40x30.png');
    for (let i = 0; i < n; i++) f.append('file', new Blob([png]), `img-${i}.png`);
    return fetch(`${srv.url}/jobs`, { method: 'POST', body: f });
  };

  it('GET /limits publishes the configured limits and the variable each comes from', async () => {
    const res = await fetch(`${srv.url}/limits`);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {
      max_job_images: 3,
      max_upload_bytes: 2000000,
      max_job_bytes: 9000000,
      rate_limit_per_minute: 5000,
      max_inflight_per_client: 7,
      variables: {
        max_job_images: 'LOUPE_MAX_JOB_IMAGES',
        max_upload_bytes: 'LOUPE_MAX_UPLOAD_BYTES',
        max_job_bytes: 'LOUPE_MAX_JOB_BYTES',
        rate_limit_per_minute: 'LOUPE_RATE_LIMIT_PER_MINUTE',
        max_inflight_per_client: 'LOUPE_MAX_INFLIGHT_PER_CLIENT',
      },
    });
    const doc = await json(await fetch(`${srv.url}/openapi.json`));
    const op = doc.paths['/limits'].get;
    assert.ok(op.responses['200'].content['application/json'].schema.properties.max_job_images);
  });

  it('one code and one message naming LOUPE_MAX_JOB_IMAGES, one image over or hundreds over', async () => {
    const answers = [];
    // 4: the route's own count refuses; 300: the multipart parser's file limit, reading ahead, does.
    for (const n of [4, 5, 300]) {
      const res = await submit(n);
      const body = await json(res);
      answers.push([res.status, body.error.code, body.error.message]);
    }
    const expected = [
      413,
      'TOO_MANY_IMAGES',
      'a job takes at most 3 images (LOUPE_MAX_JOB_IMAGES on the server): split them into several jobs (GET /limits tells the limits)',
    ];
    assert.deepEqual(answers, [expected, expected, expected]);
    const ok = await submit(3);
    assert.equal(ok.status, 202, await ok.text());
  });

  it('with keys off, the keys API refuses: nobody could be told apart', async () => {
    const res = await fetch(`${srv.url}/keys`);
    const body = await json(res);
    assert.equal(res.status, 403);
    assert.equal(body.error.code, 'FORBIDDEN');
    assert.match(body.error.message, /LOUPE_AUTH=required/);
  });

  it('loupe jobs submit splits a larger selection into jobs of at most max_job_images, and says so', async () => {
    const dir = tempDir('loupe-limits-images-');
    for (let i = 0; i < 7; i++) copyFileSync(path.join(FIXTURES, 'gray-40x30.png'), path.join(dir, `img-${i}.png`));
    const env = { LOUPE_URL: srv.url };
    const sent = await loupe(['jobs', 'submit', dir], env);
    assert.equal(sent.status, 0, sent.stderr);
    assert.match(
      sent.stderr,
      /^loupe jobs submit: 7 images are more than one job may carry on this server \(3, LOUPE_MAX_JOB_IMAGES\): sending them as 3 jobs\n/,
    );
    assert.match(sent.stderr, /queued: 3 image\(s\) \(job 1 of 3\)[\s\S]*queued: 1 image\(s\) \(job 3 of 3\)/);
    assert.equal(sent.stdout.trim().split('\n').length, 3, 'one id per job');

    const watched = await loupe(['jobs', 'submit', dir, '--watch', '--format', 'csv', '--top-k', '2'], env);
    assert.equal(watched.status, 0, watched.stderr);
    const rows = parse(watched.stdout, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(
      rows.map((r) => path.basename(r.file!)).sort(),
      Array.from({ length: 7 }, (_, i) => `img-${i}.png`),
      'one CSV of every job',
    );
    assert.ok(rows.every((r) => r.label && r.label_2 && r.error === ''));
    assert.equal((watched.stderr.match(/completed: /g) ?? []).length, 3);
  });

  it('--top-k in table output, and models list against the running server', async () => {
    const env = { LOUPE_URL: srv.url };
    const png = path.join(FIXTURES, 'gray-40x30.png');
    const table = await loupe(['predict', png, '--top-k', '3'], env);
    assert.equal(table.status, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, table.stdout);
    assert.match(lines[1]!, /^class-\d\s+0\.\d{4}\s+\S+gray-40x30\.png$/);
    assert.match(lines[2]!, /^ {2}2\. class-\d\s+0\.\d{4}$/);
    assert.match(lines[3]!, /^ {2}3\. class-\d\s+0\.\d{4}$/);

    const listed = await loupe(['models', 'list', '--url', srv.url]);
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /\ncolors\s+1\s+yes\s+16x16 rgb\s+4: class-0, class-1, class-2, class-3\n/);
  });

  it('a connection reset mid-run is retried; the run goes on', async () => {
    // In front of the server: forwards, but cuts the connection of the second request once.
    let n = 0;
    const proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (++n === 2) return req.socket.destroy();
        const headers = { 'content-type': req.headers['content-type']! };
        fetch(`${srv.url}${req.url}`, { method: req.method!, headers, body: Buffer.concat(chunks) }).then(
          async (up) => res.writeHead(up.status, { 'content-type': 'application/json' }).end(await up.text()),
          () => res.writeHead(500).end(),
        );
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const png = path.join(FIXTURES, 'gray-40x30.png');
      const r = await loupe(['predict', png, png, '--concurrency', '1', '--format', 'json', '--url', url]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /: (ECONNRESET|UND_ERR_SOCKET|other side closed)[^\n]*; retry 1\/5 in 1 s\n/);
      assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
      assert.equal(n, 3);
    } finally {
      proxy.close();
    }
  });
});
