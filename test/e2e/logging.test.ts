import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../../src/observability/index.ts';
import { fixture } from '../helpers/fixtures.ts';
import { grpcClient } from '../helpers/grpc.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { form, json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  route?: string;
  status?: number;
  method?: string;
  duration_ms?: number;
  code?: string;
  model?: string;
  version?: string;
  prediction_id?: string;
  job_id?: string;
  rpc?: string;
  grpc_address?: string;
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

  it('the request line names the model, version and prediction; the record keeps the request id', async () => {
    const res = await fetch(`${srv.url}/predict?top_k=2`, {
      method: 'POST',
      body: form(fixture('gray-40x30.png')),
      headers: { 'x-request-id': 'log-test-record' },
    });
    assert.equal(res.status, 200);
    const { id } = await json(res);
    await new Promise((r) => setTimeout(r, 100));
    const [line, ...more] = linesFor('log-test-record');
    assert.equal(more.length, 0);
    assert.deepEqual(
      { model: line!.model, version: line!.version, prediction_id: line!.prediction_id },
      { model: 'digits', version: '1', prediction_id: id },
    );
    // Both directions: the record shows the request id, and the request id finds the record.
    const rec = await json(await fetch(`${srv.url}/predictions/${id}`));
    assert.equal(rec.request_id, 'log-test-record');
    const found = await json(await fetch(`${srv.url}/predictions?request_id=log-test-record`));
    assert.deepEqual(
      found.items.map((i: { id: string }) => i.id),
      [id],
    );
    assert.deepEqual((await json(await fetch(`${srv.url}/predictions?request_id=no-such-request`))).items, []);
    const spec = await json(await fetch(`${srv.url}/openapi.json`));
    assert.ok(spec.paths['/predictions'].get.parameters.some((p: { name: string }) => p.name === 'request_id'));
  });

  it('a gRPC call logs one line with the model and version it ran', async () => {
    const client = grpcClient(srv.role.grpcAddress);
    try {
      const r = await client.call(
        'ModelInfer',
        {
          model_name: 'digits',
          inputs: [
            { name: 'image', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [fixture('gray-40x30.png')] } },
          ],
        },
        { 'x-request-id': 'log-test-grpc' },
      );
      assert.equal(r.error, undefined, r.error?.details);
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 100));
    const [line, ...more] = linesFor('log-test-grpc');
    assert.equal(more.length, 0);
    assert.deepEqual(
      { rpc: line!.rpc, model: line!.model, version: line!.version, level: line!.level },
      { rpc: 'ModelInfer', model: 'digits', version: '1', level: 30 },
    );
  });

  it('one "listening" line for the whole server (HTTP and gRPC), none from Fastify', () => {
    const listening = lines.filter((l) => /listening/i.test(l.msg));
    assert.equal(listening.length, 1, JSON.stringify(listening));
    assert.match(listening[0]!.msg, /^loupe serve listening on http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(listening[0]!.grpc_address, srv.role.grpcAddress);
    // Loopback: no SECURITY warning.
    assert.deepEqual(
      lines.filter((l) => l.msg.startsWith('SECURITY')),
      [],
    );
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
