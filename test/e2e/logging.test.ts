import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, startServe, tempDir, type TestServer } from '../helpers/server.ts';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  route?: string;
  status?: number;
  method?: string;
  duration_ms?: number;
  code?: string;
}

describe('request logging', () => {
  let srv: TestServer;
  const lines: Line[] = [];

  before(async () => {
    const store = tempDir('loupe-log-');
    writeStoreModel(store, { name: 'digits', channels: 1, height: 28, width: 28, classes: 10 });
    const dest = new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
        cb();
      },
    });
    srv = await startServe(
      { LOUPE_MODEL_STORE: store, LOUPE_DEFAULT_MODEL: 'digits' },
      {},
      { logger: createLogger('info', { destination: dest }) },
    );
  });
  after(() => srv.stop());

  const linesFor = (reqId: string) => lines.filter((l) => l.reqId === reqId);

  it('one info line per request with method, route, status, duration and request id', async () => {
    const ok = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: form(fixture('gray-40x30.png')),
      headers: { 'x-request-id': 'log-test-ok' },
    });
    assert.equal(ok.status, 200);
    const bad = await fetch(`${srv.url}/predict`, {
      method: 'POST',
      body: '<svg/>',
      headers: { 'content-type': 'image/svg+xml', 'x-request-id': 'log-test-bad' },
    });
    assert.equal(bad.status, 415);
    await new Promise((r) => setTimeout(r, 100)); // onResponse runs after the body is sent
    const [a, ...moreA] = linesFor('log-test-ok');
    assert.equal(moreA.length, 0, JSON.stringify(linesFor('log-test-ok')));
    assert.deepEqual(
      { level: a!.level, method: a!.method, route: a!.route, status: a!.status, msg: a!.msg },
      { level: 30, method: 'POST', route: '/predict', status: 200, msg: 'POST /predict 200' },
    );
    assert.ok(typeof a!.duration_ms === 'number' && a!.duration_ms > 0);
    const [b, ...moreB] = linesFor('log-test-bad');
    assert.equal(moreB.length, 0, JSON.stringify(linesFor('log-test-bad')));
    assert.equal(b!.status, 415);
    assert.equal(b!.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('health probes are not logged at info', async () => {
    for (const p of ['/livez', '/readyz', '/v2/health/live']) {
      const r = await fetch(`${srv.url}${p}`, { headers: { 'x-request-id': `probe-${p.replace(/\W/g, '')}` } });
      await r.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      lines.filter((l) => l.reqId?.startsWith('probe-')),
      [],
    );
  });
});
