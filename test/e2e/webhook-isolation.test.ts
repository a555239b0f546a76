import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixture } from '../helpers/fixtures.ts';
import { writeStoreModel } from '../helpers/onnx-model.ts';
import { json, startServe, tempDir, type TestServer } from '../helpers/server.ts';

// Issue #25: one delivery consumer let four jobs whose receiver never answers hold every other
// tenant's webhooks for minutes. Here the same attack, on loopback, with short timeouts.

/** A receiver that accepts connections, reads the request and never answers. */
async function deadReceiver() {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = http.createServer(() => void requests++); // no answer, ever
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dead`,
    requests: () => requests,
    inFlight: () => sockets.size,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A receiver that answers 204 at once and notes when each delivery arrived. */
async function healthyReceiver() {
  const arrived: Array<{ at: number; jobId: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      arrived.push({ at: Date.now(), jobId: (JSON.parse(body) as { data: { id: string } }).data.id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ok`,
    arrived,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The value of one sample in a Prometheus text exposition, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('webhook isolation: dead receivers delay only their own jobs', () => {
  let srv: TestServer;
  let dead: Awaited<ReturnType<typeof deadReceiver>>;
  let healthy: Awaited<ReturnType<typeof healthyReceiver>>;
  const store = tempDir('loupe-hooks-');

  before(async () => {
    writeStoreModel(store, { name: 'colors', channels: 3, height: 16, width: 16, classes: 4 });
    dead = await deadReceiver();
    healthy = await healthyReceiver();
    srv = await startServe({
      LOUPE_MODEL_STORE: store,
      LOUPE_DEFAULT_MODEL: 'colors',
      LOUPE_WEBHOOK_SECRET: 'isolation-test-secret',
      // Both receivers are on loopback, which webhooks may reach only when allowed.
      LOUPE_WEBHOOK_ALLOW: '127.0.0.1/32',
      LOUPE_WORKER_CONCURRENCY: '4',
      LOUPE_WEBHOOK_CONCURRENCY: '12',
      LOUPE_WEBHOOK_CONCURRENCY_PER_RECEIVER: '2',
      LOUPE_WEBHOOK_TIMEOUT_MS: '1500',
      LOUPE_WEBHOOK_MAX_ATTEMPTS: '2',
      LOUPE_WEBHOOK_RETRY_DELAY_S: '0',
      LOUPE_WEBHOOK_BREAKER_FAILURES: '2',
      LOUPE_WEBHOOK_BREAKER_COOLDOWN_MS: '500',
      LOUPE_WEBHOOK_BREAKER_COOLDOWN_MAX_MS: '1000',
    });
  });
  after(async () => {
    await srv?.stop();
    await Promise.all([dead?.close(), healthy?.close()]);
  });

  const submit = async (webhookUrl: string): Promise<string> => {
    const f = new FormData();
    f.append('webhook_url', webhookUrl);
    f.append('file', new Blob([fixture('dog-160x120.png')]), 'dog.png');
    const res = await fetch(`${srv.url}/jobs`, { method: 'POST', body: f });
    const body = await json(res);
    assert.equal(res.status, 202, JSON.stringify(body));
    return body.id as string;
  };
  const job = async (id: string) => json(await fetch(`${srv.url}/jobs/${id}`));

  it('a healthy receiver gets its webhook within 2 s while 4 jobs to a dead one are retried; theirs fail finally', async (t) => {
    const deadJobs = [];
    for (let i = 0; i < 4; i++) deadJobs.push(await submit(dead.url));
    // The attack is on: deliveries are hanging on the dead receiver (up to its cap of 2 at once;
    // a single consumer, as before, has only ever one there).
    for (let i = 0; i < 100 && dead.requests() < 1; i++) await sleep(50);
    assert.ok(dead.requests() >= 1, 'no delivery reached the dead receiver');
    for (let i = 0; i < 10 && dead.requests() < 2; i++) await sleep(50);

    const t0 = Date.now();
    const healthyJob = await submit(healthy.url);
    for (let i = 0; i < 100 && healthy.arrived.length === 0; i++) await sleep(20);
    assert.equal(healthy.arrived.length, 1, 'the healthy webhook did not arrive');
    const took = healthy.arrived[0]!.at - t0;
    t.diagnostic(`healthy webhook ${took} ms after its job was submitted`);
    assert.ok(took < 2000, `the healthy webhook took ${took} ms`);
    assert.ok(dead.inFlight() <= 2, `${dead.inFlight()} deliveries at once to one receiver (cap 2)`);

    const ok = await job(healthyJob);
    assert.equal(ok.webhook.state, 'delivered');
    assert.equal(ok.webhook.status, 'delivered (204)');
    assert.equal(ok.webhook.attempts, 1);
    assert.equal(ok.webhook.last_status, 204);
    assert.equal(ok.webhook.last_error, null);
    assert.ok(!Number.isNaN(Date.parse(ok.webhook.delivered_at)));

    // Every dead job ends failed, final, after its last attempt (bounded: 2 attempts of 1.5 s
    // each per job, spaced by the breaker's cool-downs).
    const deadline = Date.now() + 45_000;
    let views = await Promise.all(deadJobs.map(job));
    while (views.some((v) => v.webhook.state === 'pending') && Date.now() < deadline) {
      await sleep(250);
      views = await Promise.all(deadJobs.map(job));
    }
    for (const v of views) {
      assert.equal(v.status, 'completed');
      assert.equal(v.webhook.state, 'failed', JSON.stringify(v.webhook));
      assert.equal(v.webhook.attempts, 2);
      assert.equal(v.webhook.status, 'failed: not delivered after 2 attempts');
      assert.equal(v.webhook.last_error, 'delivery failed');
      assert.equal(v.webhook.last_status, null);
      assert.equal(v.webhook.delivered_at, null);
    }
    assert.equal(dead.requests(), 8, 'each dead job was tried exactly its 2 attempts');
    // Final means final: nothing more goes to the dead receiver.
    await sleep(1500);
    assert.equal(dead.requests(), 8);
    assert.ok(healthy.arrived.length === 1);

    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    const outcome = (o: string) => sample(metrics, `loupe_webhook_deliveries_total{outcome="${o}"}`);
    assert.equal(outcome('delivered'), 1);
    assert.equal(outcome('failed_final'), 4);
    assert.equal(outcome('failed_retrying'), 4);
    assert.ok(outcome('circuit_open') >= 1, 'the circuit never opened for the dead receiver');
    assert.equal(outcome('refused_by_policy'), 0);
    assert.equal(sample(metrics, 'loupe_webhook_delivery_duration_seconds_count{outcome="delivered"}'), 1);
    assert.equal(sample(metrics, 'loupe_webhook_delivery_duration_seconds_count{outcome="failed_final"}'), 4);
    assert.ok(sample(metrics, 'loupe_webhook_delivery_duration_seconds_sum{outcome="failed_final"}') >= 4 * 1.4);
    assert.equal(sample(metrics, 'loupe_jobs_finished_total{status="completed"}'), 5);
    assert.equal(sample(metrics, 'loupe_jobs{status="queued"}'), 0);
    assert.equal(sample(metrics, 'loupe_jobs{status="running"}'), 0);
    assert.equal(sample(metrics, 'loupe_jobs_oldest_queued_age_seconds'), 0);
    assert.match(metrics, /^loupe_webhook_circuits_open \d+$/m);
  });

  it('four dead receivers at once: a healthy one still gets its webhook within 2 s', async (t) => {
    const deads = await Promise.all([deadReceiver(), deadReceiver(), deadReceiver(), deadReceiver()]);
    try {
      const deadJobs = [];
      for (const d of deads) for (let i = 0; i < 2; i++) deadJobs.push(await submit(d.url));
      for (let i = 0; i < 100 && deads.some((d) => d.requests() < 1); i++) await sleep(50);
      assert.ok(
        deads.every((d) => d.requests() >= 1),
        'a dead receiver got no delivery',
      );
      const t0 = Date.now();
      const before = healthy.arrived.length;
      const healthyJob = await submit(healthy.url);
      for (let i = 0; i < 100 && healthy.arrived.length === before; i++) await sleep(20);
      assert.equal(healthy.arrived.at(-1)?.jobId, healthyJob, 'the healthy webhook did not arrive');
      const took = healthy.arrived.at(-1)!.at - t0;
      t.diagnostic(`healthy webhook ${took} ms after its job was submitted`);
      assert.ok(took < 2000, `the healthy webhook took ${took} ms`);
      // Each dead receiver's jobs end failed after their 2 attempts, within a bounded time.
      const deadline = Date.now() + 30_000;
      let views = await Promise.all(deadJobs.map(job));
      while (views.some((v) => v.webhook.state === 'pending') && Date.now() < deadline) {
        await sleep(250);
        views = await Promise.all(deadJobs.map(job));
      }
      assert.deepEqual(
        views.map((v) => [v.webhook.state, v.webhook.attempts]),
        deadJobs.map(() => ['failed', 2]),
      );
    } finally {
      await Promise.all(deads.map((d) => d.close()));
    }
  });
});
