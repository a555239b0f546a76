import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import type { Database } from '../../src/storage/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const BOUNDARY = 'loupe-upload-limits';
const partHead = (name: string, filename: string) =>
  Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
const closing = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * A POST whose body the test writes piece by piece (chunked unless `length` is given); the
 * answer may come before the body is complete.
 */
function upload(url: string, path: string, contentType: string, length?: number) {
  const { hostname, port } = new URL(url);
  const headers: http.OutgoingHttpHeaders = { 'content-type': contentType };
  if (length !== undefined) headers['content-length'] = length;
  const req = http.request({ host: hostname, port, path, method: 'POST', headers });
  req.on('error', () => undefined); // the server may cut the connection once it has answered
  let answered = false;
  const answer = new Promise<Answer>((resolve) => {
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
  });
  /** Writes `chunk` (waiting for the socket to drain); false once the server has answered. */
  const write = async (chunk: Buffer): Promise<boolean> => {
    if (answered || req.destroyed) return false;
    if (!req.write(chunk)) await Promise.race([new Promise((r) => req.once('drain', r)), answer]);
    return !answered;
  };
  return { req, answer, write, answered: () => answered };
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const code = (a: Answer) => (JSON.parse(a.body) as { error: { code: string } }).error.code;

/** The server's database (the test looks at rows no API shows: jobs still being received). */
const dbOf = (srv: TestServer) => (srv.role as unknown as { storage: { db: Database } }).storage.db;
const receivingJobs = async (db: Database) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE status = 'receiving'`)).rows[0]!.n;

describe('upload limits: body caps, the upload budget, timeouts', () => {
  let srv: TestServer;
  let png: Buffer; // ~750 KB, under the 1 MiB upload limit; two do not fit the 1 MiB budget
  const store = tempDir('loupe-upload-limits-');

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    const noise = Buffer.alloc(500 * 500 * 3);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    png = await sharp(noise, { raw: { width: 500, height: 500, channels: 3 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    assert.ok(png.length > 600 * KiB && png.length < MiB, String(png.length));
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_MAX_UPLOAD_BYTES: String(MiB),
      LOUPE_MAX_JOB_BYTES: String(3 * MiB),
      LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: String(MiB),
      LOUPE_HEADERS_TIMEOUT_MS: '500',
      LOUPE_REQUEST_TIMEOUT_MS: '2000',
    });
  });
  after(() => srv?.stop());

  const alive = async () => assert.equal((await fetch(`${srv.url}/livez`)).status, 200);
  const predictPng = () =>
    fetch(`${srv.url}/predict`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });

  it('a chunked POST /jobs over LOUPE_MAX_JOB_BYTES → 413 while it is still sending; nothing is left behind', async () => {
    const started = Date.now();
    const up = upload(srv.url, '/jobs', `multipart/form-data; boundary=${BOUNDARY}`);
    const image = Buffer.alloc(512 * KiB, 7);
    let sent = 0;
    // Bounded: 64 MB at most, but the answer comes after ~3 MiB (plus what the socket buffers).
    for (let i = 0; sent < 64 * MiB; i++) {
      const part = Buffer.concat([partHead('file', `img-${i}.jpg`), image, Buffer.from('\r\n')]);
      if (!(await up.write(part))) break;
      sent += part.length;
    }
    const answer = await up.answer;
    up.req.destroy();
    assert.equal(answer.status, 413, answer.body);
    assert.equal(code(answer), 'PAYLOAD_TOO_LARGE');
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    assert.ok(sent < 40 * MiB, `the client could send ${sent} bytes`);
    await alive();
    // The images stored on the way were removed with their job.
    for (let i = 0; i < 50 && (await receivingJobs(dbOf(srv))) > 0; i++) await sleep(20);
    assert.equal(await receivingJobs(dbOf(srv)), 0);
    const { rows } = await dbOf(srv).query<{ n: number }>('SELECT count(*)::int AS n FROM jobs');
    assert.equal(rows[0]!.n, 0, 'no job was made');
  });

  it('chunked uploads over LOUPE_MAX_UPLOAD_BYTES → 413: multipart and raw /predict, OIP infer', async () => {
    const big = Buffer.alloc(64 * KiB, 1);
    const cases: Array<[string, string, Buffer]> = [
      ['/predict', `multipart/form-data; boundary=${BOUNDARY}`, partHead('file', 'big.jpg')],
      ['/predict', 'image/jpeg', Buffer.alloc(0)],
      ['/v2/models/colors/infer', 'application/json', Buffer.from('{"inputs": [{"name": "x", "data": [')],
    ];
    for (const [path, type, head] of cases) {
      const up = upload(srv.url, path, type);
      await up.write(head);
      for (let sent = 0; sent < 32 * MiB && (await up.write(big));) sent += big.length;
      const answer = await up.answer;
      up.req.destroy();
      assert.equal(answer.status, 413, `${path} ${type}: ${answer.body}`);
      if (path === '/predict') assert.equal(code(answer), 'PAYLOAD_TOO_LARGE');
      else assert.equal(typeof JSON.parse(answer.body).error, 'string'); // OIP's error shape
    }
    await alive();
  });

  it('a multipart body cut short in a file → 400, and the budget is not left held', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${srv.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
        body: Buffer.concat([partHead('file', 'cut.png'), png.subarray(0, 700 * KiB)]),
      });
      assert.equal(res.status, 400);
      assert.equal((await json(res)).error.code, 'BAD_REQUEST');
    }
    assert.equal((await predictPng()).status, 200);
  });

  it('the upload budget: charged as bytes arrive, not as announced; 503 + Retry-After once full; freed when uploads end', async () => {
    // A announces ~750 KB and sends 100 KiB: it holds 100 KiB, so a whole other upload still fits.
    const a = upload(srv.url, '/predict', 'image/png', png.length);
    await a.write(png.subarray(0, 100 * KiB));
    await sleep(50);
    assert.equal((await predictPng()).status, 200, 'an announced length holds nothing');
    // Now A holds 600 KiB of the 1 MiB budget: an upload that passes what is left is refused
    // as its bytes arrive, whether it announced its length or not.
    await a.write(png.subarray(100 * KiB, 600 * KiB));
    await sleep(50);
    for (const length of [png.length, undefined]) {
      const b = upload(srv.url, '/predict', 'image/png', length);
      for (let off = 0; off < png.length && (await b.write(png.subarray(off, off + 32 * KiB)));) off += 32 * KiB;
      const refused = await b.answer;
      b.req.destroy();
      assert.equal(refused.status, 503, refused.body);
      assert.equal(refused.headers['retry-after'], '1');
      assert.equal(code(refused), 'OVERLOADED');
    }
    // A completes; what it held is given back, so the same upload now goes through.
    a.req.end(png.subarray(600 * KiB));
    assert.equal((await a.answer).status, 200);
    assert.equal((await predictPng()).status, 200);
  });

  it('an aborted upload gives back what it held', async () => {
    const a = upload(srv.url, '/predict', 'image/png', png.length);
    await a.write(png.subarray(0, 600 * KiB));
    await sleep(50);
    assert.equal((await predictPng()).status, 503);
    a.req.destroy();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await predictPng()).status;
      if (status !== 200) await sleep(20);
    }
    assert.equal(status, 200);
  });

  it('a client that sends its headers too slowly gets 408 and is disconnected; so does a body too slow', async () => {
    const slow = (bytes: string) =>
      new Promise<{ text: string; ms: number }>((resolve, reject) => {
        const started = Date.now();
        const s = net.connect(Number(new URL(srv.url).port), '127.0.0.1');
        let text = '';
        s.setTimeout(10_000, () => s.destroy(new Error('not disconnected in 10 s')));
        s.on('data', (d) => (text += d));
        s.on('error', reject);
        s.on('close', () => resolve({ text, ms: Date.now() - started }));
        s.write(bytes);
      });
    const headers = await slow('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n');
    assert.match(headers.text, /^HTTP\/1\.1 408 /);
    assert.ok(headers.ms < 2000, `headers: cut after ${headers.ms} ms (LOUPE_HEADERS_TIMEOUT_MS 500)`);
    const body = await slow(
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n\r\nabc`,
    );
    assert.match(body.text, /408/);
    assert.ok(body.ms >= 1500 && body.ms < 4000, `body: cut after ${body.ms} ms (LOUPE_REQUEST_TIMEOUT_MS 2000)`);
    // The slow body held budget; it was given back.
    assert.equal((await predictPng()).status, 200);
    await alive();
  });
});

describe('job images are stored as they arrive', () => {
  let srv: TestServer;
  const store = tempDir('loupe-job-stream-');

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_MAX_UPLOAD_BYTES: String(3 * MiB),
      LOUPE_MAX_JOB_BYTES: String(128 * MiB),
      // On disk: an in-memory database would hold the job's 80 MiB in this process by design.
      LOUPE_DATA_DIR: tempDir('loupe-job-stream-data-'),
    });
  });
  after(() => srv?.stop());

  /** Sends a job of `n` images of 2 MiB, part by part; after each image, `stored(i)` runs while the request is still open. */
  const sendJob = async (n: number, stored: (i: number) => Promise<void>) => {
    const image = Buffer.alloc(2 * MiB);
    fixture('dog-160x120.jpg').copy(image); // a real image followed by padding
    const up = upload(srv.url, '/jobs', `multipart/form-data; boundary=${BOUNDARY}`);
    await up.write(partHead('file', 'img-0.jpg'));
    for (let i = 0; i < n; i++) {
      // busboy knows a part has ended when the next boundary arrives.
      const next = i < n - 1 ? partHead('file', `img-${i + 1}.jpg`) : Buffer.from(`--${BOUNDARY}\r\n`);
      for (const piece of [image, Buffer.from('\r\n'), next]) assert.ok(await up.write(piece));
      await stored(i);
    }
    up.req.end(`Content-Disposition: form-data; name="top_k"\r\n\r\n2${closing.toString()}`);
    const answer = await up.answer;
    assert.equal(answer.status, 202, answer.body);
    return json(await fetch(`${srv.url}/jobs/${JSON.parse(answer.body).id}`));
  };

  it('40 × 2 MiB: each image is in the database before the next arrives, and memory stays well under the job', async () => {
    const db = dbOf(srv);
    // Images are stored in 1 MiB pieces: two per image.
    const pieces = async () =>
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM job_item_parts p JOIN jobs j ON j.id = p.job_id WHERE j.status = 'receiving'`,
        )
      ).rows[0]!.n;
    const waitStored = async (i: number) => {
      let n = 0;
      for (let t = 0; t < 250 && n < 2 * (i + 1); t++) {
        n = await pieces();
        if (n < 2 * (i + 1)) await sleep(20);
      }
      assert.equal(n, 2 * (i + 1), `image ${i} is stored while the request is still open`);
    };
    // A first, small job: the embedded database's heap grows once to what a 2 MiB INSERT needs.
    const warm = await sendJob(4, waitStored);
    for (let i = 0; i < 250; i++) {
      if ((await json(await fetch(`${srv.url}/jobs/${warm.id}`))).status === 'completed') break;
      await sleep(20);
    }
    // Live memory (JS heap and buffers, after a full GC), not RSS: RSS also holds garbage not yet
    // collected and what the allocator keeps for reuse, which says nothing about what is held.
    const live = async () => {
      // twice, a moment apart: V8 frees buffers after a collection, on another thread
      gc();
      await sleep(30);
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const live0 = await live();
    let peak = live0;
    const job = await sendJob(40, async (i) => {
      await waitStored(i);
      if (i % 5 === 4) peak = Math.max(peak, await live()); // a full GC takes a while: every fifth image
    });
    assert.equal(job.progress.total, 40);
    assert.equal(job.top_k, 2);
    // Held at once: a 1 MiB piece and what is in flight; the whole job would be 80 MiB and more.
    const growth = (peak - live0) / MiB;
    assert.ok(growth < 16, `live memory grew ${growth.toFixed(1)} MiB while an 80 MiB job arrived`);
  });
});
