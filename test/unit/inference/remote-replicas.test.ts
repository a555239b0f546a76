import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../src/config/index.ts';
import { ErrorCode } from '../../../src/errors.ts';
import { RemoteBackend } from '../../../src/inference/remote/index.ts';
import { createLogger, createMetrics, loadTracing, type Tracing } from '../../../src/observability/index.ts';
import { remoteBackendOptions } from '../../../src/roles/remote.ts';
import { stubApp } from '../../helpers/app.ts';
import { SDK_TO_NOWHERE } from '../../helpers/tracing.ts';

/**
 * The gateway's view of several model servers, against small fake model servers on loopback
 * (what each one answers is set per test): the model list, fan-outs and their tracing.
 */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly traceparent: string | undefined;
  readonly body: string;
}

class FakeModelServer {
  models: Record<string, string[]> = {};
  /** Listed by GET /models, but 404 when asked about (gone in between). */
  gone = new Set<string>();
  /** How long GET /models takes; what it lists is read when the request arrives. */
  listDelayMs = 0;
  control: { status: number; code?: string; error?: string } = { status: 200 };
  readonly seen: Seen[] = [];
  readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => void this.answer(req, body, res));
  });

  async listen(host = '127.0.0.1', port = 0): Promise<number> {
    this.server.listen(port, host);
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  private async answer(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const traceparent = req.headers.traceparent as string | undefined;
    this.seen.push({ method: req.method!, path: url.pathname, traceparent, body });
    const send = (status: number, json: unknown, code?: string) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-loupe-error-code': code } : {}) });
      res.end(JSON.stringify(json));
    };
    if (url.pathname === '/models') {
      const models = Object.entries(this.models).map(([name, versions]) => ({ name, versions }));
      await sleep(this.listDelayMs);
      return send(200, { models });
    }
    const one = /^\/models\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const name = decodeURIComponent(one[1]!);
      const version = url.searchParams.get('version')!;
      if (this.gone.has(name) || !this.models[name]?.includes(version))
        return send(404, { error: { message: `no model ${name}` } }, ErrorCode.ModelNotFound);
      return send(200, { ...MODEL, name, version });
    }
    if (url.pathname === '/v2/repository/index') return send(200, []);
    if (url.pathname === '/v2/models/stats') return send(200, { model_stats: [] });
    if (/^\/v2\/repository\/models\/[^/]+\/(load|unload)$/.test(url.pathname)) {
      const { status, code, error } = this.control;
      return send(status, status === 200 ? {} : { error }, code);
    }
    send(404, { error: 'no route' });
  }
}

const MODEL = {
  provider: 'test',
  description: '',
  labels: ['a', 'b'],
  inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
  outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 2] }],
  preprocessing: {},
  output_kind: 'probabilities',
  batching: { max_batch_size: 1 },
};

const fakes: FakeModelServer[] = [];
const backends: RemoteBackend[] = [];
after(async () => {
  await Promise.all(backends.map((b) => b.close()));
  for (const f of fakes) f.server.close();
});

async function fake(models: Record<string, string[]>, host?: string, port?: number) {
  const f = new FakeModelServer();
  f.models = models;
  fakes.push(f);
  return { f, port: await f.listen(host, port) };
}

function gateway(url: string, extra: { lookup?: (host: string) => Promise<string[]>; tracing?: Tracing } = {}) {
  const config = loadConfig({ LOUPE_MODEL_SERVER_URL: url, LOUPE_DEFAULT_MODEL: 'x', LOUPE_MODEL_POLL_S: '3600' });
  const b = new RemoteBackend({
    options: remoteBackendOptions(config),
    logger: createLogger('silent', { pretty: false }),
    metrics: createMetrics(),
    ...extra,
  });
  backends.push(b);
  return b;
}

/** The gateway's HTTP routes over `g`, on loopback: one POST, its answer. */
async function viaHttp(g: RemoteBackend, url: string, body: unknown) {
  const { app } = await stubApp({ LOUPE_AUTH: 'off', LOUPE_DEFAULT_MODEL: 'x' }, { backend: g });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${base}${url}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: await res.text() };
  } finally {
    await app.close();
  }
}

const listed = (b: RemoteBackend) => b.listModels().map((m) => `${m.name}/${m.version}`);

describe('the gateway over replicas that disagree', () => {
  it('lists the union of every replica’s models, each with the details of a replica that has it', async () => {
    const a = await fake({ x: ['1'] });
    const b = await fake({ x: ['1'], y: ['1', '2'] });
    const g = gateway(`http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`);
    await g.start();
    assert.deepEqual(listed(g).sort(), ['x/1', 'y/1', 'y/2']);
    assert.equal(g.readiness().ready, true);
    // The details of y came from the replica that lists it (the other answers 404).
    assert.ok(b.f.seen.some((s) => s.path === '/models/y'));
    assert.ok(!a.f.seen.some((s) => s.path === '/models/y'));
  });

  it('skips a model that is gone by the time its details are asked (404), keeping the rest', async () => {
    const a = await fake({ x: ['1'], z: ['1'] });
    a.f.gone.add('z');
    const g = gateway(`http://127.0.0.1:${a.port}`);
    await g.start();
    assert.deepEqual(listed(g), ['x/1']);
    assert.equal(g.readiness().ready, true);
  });

  it('runs refreshes one after another: an older, slower answer never overwrites a newer one', async () => {
    const a = await fake({ x: ['1'] });
    const g = gateway(`http://127.0.0.1:${a.port}`);
    await g.start();
    a.f.listDelayMs = 400;
    const older = g.refresh(); // lists x only, slowly
    await sleep(100);
    a.f.models = { x: ['1'], y: ['1'] };
    a.f.listDelayMs = 0;
    const newer = g.refresh(); // lists x and y (a load just happened)
    await Promise.all([older, newer]);
    assert.deepEqual(listed(g).sort(), ['x/1', 'y/1']);
  });
});

describe('fan-outs from the gateway', () => {
  it('re-resolve the replicas first: one added since the last poll is called and reported', async () => {
    const a = await fake({ x: ['1'] }, '127.0.0.1');
    const b = await fake({ x: ['1'] }, '127.0.0.2', a.port);
    let addresses = ['127.0.0.1'];
    const g = gateway(`http://model-servers.test:${a.port}`, { lookup: async () => addresses });
    await g.start();
    addresses = ['127.0.0.1', '127.0.0.2'];
    const result = await g.loadModel('x', {});
    assert.deepEqual(result.replicas, [
      { replica: `127.0.0.1:${a.port}`, status: 'ok' },
      { replica: `127.0.0.2:${a.port}`, status: 'ok' },
    ]);
    for (const f of [a.f, b.f]) assert.ok(f.seen.some((s) => s.path === '/v2/repository/models/x/load'));
    await g.statistics();
    assert.ok(
      b.f.seen.some((s) => s.path === '/v2/models/stats'),
      'statistics ask the new replica too',
    );
  });

  it('are client spans that send traceparent, like every other call to a model server', async () => {
    const tracing = await loadTracing(SDK_TO_NOWHERE);
    const a = await fake({ x: ['1'] });
    const b = await fake({ x: ['1'] });
    const g = gateway(`http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`, { tracing });
    await g.start();
    const request = tracing.start('request');
    await tracing.within(request, async () => {
      await g.unloadModel('x', {});
      await g.statistics();
    });
    request.end();
    for (const f of [a.f, b.f])
      for (const path of ['/v2/repository/models/x/unload', '/v2/models/stats']) {
        const s = f.seen.find((x) => x.path === path);
        assert.match(s?.traceparent ?? '', new RegExp(`^00-${request.traceId}-[0-9a-f]{16}-01$`), path);
        assert.notEqual(s?.traceparent?.split('-')[2], request.spanId, 'each call is its own client span');
      }
    await tracing.shutdown(1000);
  });

  it('a load’s parameters go to the model servers as given: their mode is checked before them', async () => {
    const a = await fake({ x: ['1'] });
    a.f.control = { status: 400, code: ErrorCode.ModelControlDisabled, error: 'LOUPE_MODEL_CONTROL is poll' };
    const g = gateway(`http://127.0.0.1:${a.port}`);
    await g.start();
    const res = await viaHttp(g, '/v2/repository/models/x/load', { parameters: { config: '{' } });
    assert.equal(res.status, 400, res.body);
    assert.equal(res.headers.get('x-loupe-error-code'), ErrorCode.ModelControlDisabled);
    const forwarded = a.f.seen.find((s) => s.path === '/v2/repository/models/x/load');
    assert.deepEqual(JSON.parse(forwarded!.body), { parameters: { config: '{' } });
  });

  it('a partial failure keeps the failed replica’s Retry-After on the report', async () => {
    const a = await fake({ x: ['1'] });
    const b = await fake({ x: ['1'] });
    b.f.server.close(); // down: NOT_READY, which carries Retry-After
    const g = gateway(`http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`);
    await g.start();
    const res = await viaHttp(g, '/v2/repository/models/x/unload', {});
    assert.equal(res.status, 503, res.body);
    assert.equal(res.headers.get('x-loupe-error-code'), ErrorCode.NotReady);
    assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After is kept');
    const body = JSON.parse(res.body) as { error: string; replicas: Array<{ replica: string; status?: string }> };
    assert.deepEqual(Object.fromEntries(body.replicas.map((r) => [r.replica, r.status ?? 'failed'])), {
      [`127.0.0.1:${a.port}`]: 'ok',
      [`127.0.0.1:${b.port}`]: 'failed',
    });
  });
});
