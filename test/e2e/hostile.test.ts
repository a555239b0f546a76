import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Bytes written straight to the server's socket, and what came back before it closed. */
function raw(port: number, bytes: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    socket.write(bytes);
  });
}

/** Loupe's error shape, with the request id of the body in X-Request-Id too. */
function assertError(
  r: { status: number; headers: Record<string, string>; body: string },
  status: number,
  code: string,
) {
  assert.equal(r.status, status, r.body);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(r.body) as { error: { code: string; message: string; request_id: string } };
  assert.deepEqual(Object.keys(body), ['error']);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.match(body.error.request_id, UUID);
  assert.equal(r.headers['x-request-id'], body.error.request_id);
}

const fromFetch = async (res: Response) => ({
  status: res.status,
  headers: Object.fromEntries(res.headers),
  body: await res.text(),
});

describe('hostile requests get a clean 4xx, security headers, Idempotency-Key', () => {
  let srv: TestServer;
  let port = 0;
  const store = tempDir('loupe-hostile-');

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    srv = await startServe({ LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'colors' });
    port = Number(new URL(srv.url).port);
  });
  after(() => srv?.stop());

  /** The server still answers after each hostile request. */
  const alive = async () => {
    const res = await fetch(`${srv.url}/livez`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  };
  const get = async (path: string, headers: Record<string, string> = {}) =>
    fromFetch(await fetch(`${srv.url}${path}`, { headers }));
  const predict = async () => {
    const res = await fetch(`${srv.url}/predict`, { method: 'POST', body: form(fixture('dog-160x120.png')) });
    assert.equal(res.status, 200);
    return json(res);
  };

  describe('history filters and cursors', () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const [name, cursor] of [
      ['not base64', '!!!not-a-cursor!!!'],
      ['base64 garbage', 'garbage'],
      ['no separator', b64('2024-05-01T00:00:00Z')],
      ['bad timestamp', b64(`yesterday|${randomUUID()}`)],
      ['month 13', b64(`2024-13-01T00:00:00.000000Z|${randomUUID()}`)],
      ['year 0', b64(`0000-01-01T00:00:00.000000Z|${randomUUID()}`)],
      ['bad uuid', b64('2024-05-01T00:00:00.000000Z|not-a-uuid')],
      ['uuid of dashes', b64(`2024-05-01T00:00:00.000000Z|${'-'.repeat(36)}`)],
      ['three parts', b64(`2024-05-01T00:00:00.000000Z|${randomUUID()}|x`)],
      ['very long', 'A'.repeat(4000)],
    ]) {
      it(`a garbage cursor (${name}) → 400 BAD_REQUEST`, async () => {
        const r = await get(`/predictions?cursor=${encodeURIComponent(cursor!)}`);
        assertError(r, 400, 'BAD_REQUEST');
        assert.match(JSON.parse(r.body).error.message, /cursor/);
        await alive();
      });
    }

    for (const [name, query, param] of [
      ['not a date', 'since=garbage', 'since'],
      ['year 0 (PostgreSQL refuses it)', 'since=0000-01-01T00:00:00Z', 'since'],
      ['year 0 after the offset', 'until=0001-01-01T00:30:00%2B01:00', 'until'],
      ['past 9999 after the offset', 'until=9999-12-31T23:59:59-01:00', 'until'],
      ['February 30', 'since=2024-02-30T00:00:00Z', 'since'],
      ['hour 24', 'until=2024-01-01T24:00:00Z', 'until'],
      ['a date without time', 'since=2024-05-01', 'since'],
      ['two values', 'since=2024-05-01T00:00:00Z&since=2024-05-02T00:00:00Z', 'since'],
    ]) {
      it(`a bad date filter (${name}) → 400 BAD_REQUEST`, async () => {
        const r = await get(`/predictions?${query}`);
        assertError(r, 400, 'BAD_REQUEST');
        assert.match(JSON.parse(r.body).error.message, new RegExp(param!));
        await alive();
      });
    }

    it('a NUL in the model filter and ids that only look like UUIDs → 400', async () => {
      assertError(await get('/predictions?model=%00'), 400, 'BAD_REQUEST');
      assertError(await get(`/predictions/${'-'.repeat(36)}`), 400, 'BAD_REQUEST');
      assertError(await get(`/jobs/${'-'.repeat(36)}`), 400, 'BAD_REQUEST');
      await alive();
    });

    it('valid filters, offsets beyond PostgreSQL’s own and the cursors it hands out still work', async () => {
      const made = [await predict(), await predict(), await predict()];
      for (const q of [
        'since=2000-01-01T00:00:00Z&until=2100-01-01T00:00:00Z',
        'since=2000-01-01T00:00:00%2B23:59', // RFC 3339 allows it; PostgreSQL stops at ±15:59
        'since=2000-01-01t00:00:00.123456789z',
        'until=2100-01-01T00:00:00.5-08:00',
      ]) {
        const r = await get(`/predictions?${q}`);
        assert.equal(r.status, 200, `${q}: ${r.body}`);
        assert.ok(JSON.parse(r.body).items.length >= 3, q);
      }
      // Page through one at a time: the three there are, newest first, none twice, then no cursor.
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 3; i++) {
        const page = JSON.parse(
          (await get(`/predictions?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body,
        ) as { items: Array<{ id: string }>; next_cursor: string | null };
        seen.push(page.items[0]!.id);
        cursor = page.next_cursor;
        assert.equal(cursor === null, i === 2);
      }
      assert.deepEqual(seen, made.map((p: { id: string }) => p.id).reverse());
      // A cursor of the earlier form (PostgreSQL's text form of the timestamp) is still read.
      const old = Buffer.from(`2100-01-01 00:00:00.123456+00|${randomUUID()}`).toString('base64url');
      const r = await get(`/predictions?cursor=${old}`);
      assert.equal(r.status, 200, r.body);
      assert.ok(JSON.parse(r.body).items.length >= 3);
    });
  });

  describe('requests Node’s HTTP parser refuses', () => {
    it('a 100 KB query string → 431 HEADERS_TOO_LARGE in the error shape, with X-Request-Id', async () => {
      const r = await get(`/predictions?model=${'a'.repeat(100 * 1024)}`);
      assertError(r, 431, 'HEADERS_TOO_LARGE');
      assert.equal(r.headers['connection'], 'close');
      await alive();
    });

    it('a 64 KB header → 431 HEADERS_TOO_LARGE in the error shape, with X-Request-Id', async () => {
      const r = await get('/livez', { 'x-filler': 'b'.repeat(64 * 1024) });
      assertError(r, 431, 'HEADERS_TOO_LARGE');
      assert.equal(r.headers['connection'], 'close');
      await alive();
    });

    for (const [name, bytes] of [
      ['a garbage request line', 'GARBAGE\r\n\r\n'],
      ['binary junk', Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 13, 10])],
      ['a header without a colon', 'GET /livez HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'],
      ['a bad Content-Length', 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
      [
        'Content-Length with Transfer-Encoding',
        'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      ],
      ['HTTP/9.9', 'GET /livez HTTP/9.9\r\nHost: x\r\n\r\n'],
    ] as const) {
      it(`${name} (raw bytes) → 400 BAD_REQUEST in the error shape`, async () => {
        const r = await raw(port, bytes);
        assertError(r, 400, 'BAD_REQUEST');
        assert.equal(r.headers['connection'], 'close');
        await alive();
      });
    }

    it('a URL the router cannot decode → 400 in the error shape', async () => {
      assertError(await raw(port, 'GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'), 400, 'BAD_REQUEST');
      await alive();
    });
  });

  // Security headers (helmet, the CSP, Swagger UI's assets): test/unit/http/security-headers.test.ts.

  describe('Idempotency-Key', () => {
    const submit = (
      key: string | undefined,
      files: Buffer[] = [fixture('dog-160x120.png')],
      fields: Record<string, string> = {},
    ) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.append(k, v);
      files.forEach((b, i) => f.append('file', new Blob([b]), `img-${i}.png`));
      return fetch(`${srv.url}/jobs`, {
        method: 'POST',
        body: f,
        headers: key === undefined ? {} : { 'idempotency-key': key },
      });
    };

    it('the same key with the same request → the first job (202, then 200)', async () => {
      const key = `k-${randomUUID()}`;
      const a = await submit(key, undefined, { metadata: '{"a":"1","b":"2"}', top_k: '2' });
      const b = await submit(key, undefined, { metadata: '{"b":"2","a":"1"}', top_k: '2' }); // key order is no difference
      const c = await submit(`"${key}"`, undefined, { metadata: '{"a":"1","b":"2"}', top_k: '2' }); // the draft's sf-string form
      assert.equal(a.status, 202);
      assert.equal(b.status, 200);
      assert.equal(c.status, 200);
      const id = (await json(a)).id;
      assert.equal((await json(b)).id, id);
      assert.equal((await json(c)).id, id);
      const other = await submit(`k-${randomUUID()}`, undefined, { metadata: '{"a":"1","b":"2"}', top_k: '2' });
      assert.equal(other.status, 202);
      assert.notEqual((await json(other)).id, id);
    });

    for (const [name, second] of [
      ['a different image', { files: [fixture('dog-160x120.jpg')] }],
      ['another image added', { files: [fixture('dog-160x120.png'), fixture('dog-160x120.png')] }],
      ['different metadata', { fields: { metadata: '{"a":"2"}' } }],
      ['metadata added', { fields: { metadata: '{"a":"1","extra":"x"}' } }],
      ['a different top_k', { fields: { metadata: '{"a":"1"}', top_k: '3' } }],
    ] as const) {
      it(`the same key with ${name} → 422 IDEMPOTENCY_KEY_REUSED`, async () => {
        const key = `k-${randomUUID()}`;
        const first = await submit(key, [fixture('dog-160x120.png')], { metadata: '{"a":"1"}' });
        assert.equal(first.status, 202);
        const firstId = (await json(first)).id;
        const r = await fromFetch(
          await submit(key, 'files' in second ? [...second.files] : undefined, {
            metadata: '{"a":"1"}',
            ...('fields' in second ? second.fields : {}),
          }),
        );
        assertError(r, 422, 'IDEMPOTENCY_KEY_REUSED');
        // The key still names the first job.
        const again = await submit(key, [fixture('dog-160x120.png')], { metadata: '{"a":"1"}' });
        assert.equal(again.status, 200);
        assert.equal((await json(again)).id, firstId);
        await alive();
      });
    }

    it('concurrent duplicates (5 at once) make one job', async () => {
      const key = `k-${randomUUID()}`;
      const all = await Promise.all(Array.from({ length: 5 }, () => submit(key)));
      const bodies = await Promise.all(all.map((r) => json(r)));
      assert.deepEqual(all.map((r) => r.status).sort(), [200, 200, 200, 200, 202]);
      assert.equal(new Set(bodies.map((b: { id: string }) => b.id)).size, 1);
    });

    for (const [name, key] of [
      ['over 255 characters', 'k'.repeat(256)],
      ['not ASCII', 'clé-é'],
      ['an empty sf-string', '""'],
    ]) {
      it(`a key ${name} → 400 BAD_REQUEST`, async () => {
        const r = await fromFetch(await submit(key));
        assertError(r, 400, 'BAD_REQUEST');
        assert.match(JSON.parse(r.body).error.message, /idempotency-key/i);
        await alive();
      });
    }

    it('a key of 255 printable characters is fine', async () => {
      const key = `${randomUUID()} ~!#$%&'*+-.^_\`|`.padEnd(255, 'x');
      assert.equal((await submit(key)).status, 202);
      assert.equal((await submit(key)).status, 200);
    });

    it('NUL characters in metadata → 400, not a failed INSERT', async () => {
      assertError(
        await fromFetch(await submit(undefined, undefined, { metadata: '{"a":"\\u0000"}' })),
        400,
        'BAD_REQUEST',
      );
      const p = await fetch(`${srv.url}/predict`, {
        method: 'POST',
        body: form(fixture('dog-160x120.png'), 'x.png', { metadata: '{"\\u0000":"a"}' }),
      });
      assertError(await fromFetch(p), 400, 'BAD_REQUEST');
      await alive();
    });
  });
});
