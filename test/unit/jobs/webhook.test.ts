import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { after, afterEach, before, describe, it } from 'node:test';
import type { PgBoss, SendOptions } from 'pg-boss';
import type { InferenceBackend } from '../../../src/inference/index.ts';
import { deliver, JobWorker, WebhookDeliveries, WebhookError, WebhookPolicy } from '../../../src/jobs/index.ts';
import type { Resolver } from '../../../src/net/index.ts';
import { createLogger } from '../../../src/observability/index.ts';
import type { JobStore, JobView, PredictionStore, WebhookOutcome } from '../../../src/storage/index.ts';

const SECRET = 'unit-test-secret';

// Every connection this process makes in these tests must go to loopback. The guard refuses
// anything else (a host name too: no DNS query leaves the machine) before a packet is sent.
const LOOPBACK = new Set(['127.0.0.1', '127.0.0.2', '::1']);
const connects: string[] = [];
const guarded: string[] = [];
const originalConnect = net.Socket.prototype.connect;
before(() => {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = args[0];
    const opts = (Array.isArray(first) ? first[0] : typeof first === 'object' ? first : { host: args[1] }) as {
      host?: string;
      path?: string;
    };
    if (opts.path === undefined) {
      const host = opts.host ?? 'localhost';
      if (!LOOPBACK.has(host)) {
        guarded.push(host);
        throw new Error(`test guard: no connection to ${host}`);
      }
      connects.push(host);
    }
    return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});
after(() => {
  net.Socket.prototype.connect = originalConnect;
  assert.deepEqual(guarded, [], 'a connection to a non-loopback host was attempted');
});

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1; `answer` decides the response (204 by default). */
async function receiver(answer?: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (answer) answer(req, res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A stub resolver that records the names asked for and answers from `answers` in turn (the last one repeats). */
function stubResolver(...answers: string[][]) {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const a = answers[Math.min(asked.length - 1, answers.length - 1)]!;
    return a.map((address) => ({ address, family: net.isIP(address) }));
  };
  return { asked, resolve };
}

const rejectsWith = async (p: Promise<unknown>, kind: 'refused' | 'failed', message?: RegExp) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof WebhookError, String(err));
    assert.equal(err.kind, kind, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });

describe('webhook delivery', () => {
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('refuses a name that resolves to a private address, without connecting', async () => {
    const dns = stubResolver(['10.0.0.5']);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32', resolve: dns.resolve });
    const before = connects.length;
    await rejectsWith(
      deliver('http://hooks.example/in', SECRET, 'job.completed', {}, { policy }),
      'refused',
      /10\.0\.0\.5 is private/,
    );
    assert.deepEqual(dns.asked, ['hooks.example']);
    assert.equal(connects.length, before, 'a socket was opened');
  });

  it('refuses when any of the addresses is refused', async () => {
    const dns = stubResolver(['127.0.0.1', '169.254.169.254']);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32', resolve: dns.resolve });
    const before = connects.length;
    await rejectsWith(deliver('http://mixed.example/', SECRET, 'e', {}, { policy }), 'refused', /link-local/);
    assert.equal(connects.length, before);
  });

  it('refuses literal addresses, other schemes and credentials without resolving', async () => {
    const dns = stubResolver(['127.0.0.1']);
    const policy = new WebhookPolicy({ resolve: dns.resolve });
    const before = connects.length;
    await rejectsWith(deliver('http://127.0.0.1:1/', SECRET, 'e', {}, { policy }), 'refused', /loopback/);
    await rejectsWith(deliver('http://[::ffff:169.254.169.254]/', SECRET, 'e', {}, { policy }), 'refused');
    await rejectsWith(deliver('ftp://hooks.example/', SECRET, 'e', {}, { policy }), 'refused');
    await rejectsWith(deliver('http://u:p@hooks.example/', SECRET, 'e', {}, { policy }), 'refused');
    assert.deepEqual(dns.asked, []);
    assert.equal(connects.length, before);
  });

  it('delivers to an allowed address with the original Host header and a valid signature', async () => {
    const hook = await receiver();
    servers.push(hook);
    const dns = stubResolver(['127.0.0.1']);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32', resolve: dns.resolve });
    const status = await deliver(
      `http://Hooks.Example:${hook.port}/in?token=t`,
      SECRET,
      'job.completed',
      { id: 'j1' },
      { policy },
    );
    assert.equal(status, 204);
    assert.deepEqual(dns.asked, ['hooks.example']);
    assert.equal(connects.at(-1), '127.0.0.1');
    const [r] = hook.got;
    assert.equal(r!.method, 'POST');
    assert.equal(r!.url, '/in?token=t');
    assert.equal(r!.headers.host, `hooks.example:${hook.port}`);
    assert.equal(r!.headers['content-type'], 'application/json');
    assert.equal(r!.headers['user-agent'], 'loupe-webhooks');
    assert.equal(r!.headers['x-loupe-event'], 'job.completed');
    const ts = r!.headers['x-loupe-timestamp'] as string;
    assert.match(ts, /^\d+$/);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${r!.body}`).digest('hex')}`;
    assert.equal(r!.headers['x-loupe-signature'], expected);
    assert.deepEqual(JSON.parse(r!.body), { event: 'job.completed', data: { id: 'j1' } });
  });

  it('an allowed host name may resolve to a private address', async () => {
    const hook = await receiver();
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: 'hook', resolve: stubResolver(['127.0.0.1']).resolve });
    assert.equal(await deliver(`http://hook:${hook.port}/`, SECRET, 'e', {}, { policy }), 204);
    const other = new WebhookPolicy({ allow: 'hook', resolve: stubResolver(['127.0.0.1']).resolve });
    await rejectsWith(deliver(`http://hook2:${hook.port}/`, SECRET, 'e', {}, { policy: other }), 'refused');
    assert.equal(hook.got.length, 1);
  });

  it('connects to the address that was checked: a second, different DNS answer changes nothing', async () => {
    const hook = await receiver();
    servers.push(hook);
    // A rebinding name: public-looking first answer would be checked, then a different one.
    const dns = stubResolver(['127.0.0.1'], ['127.0.0.2']);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32', resolve: dns.resolve });
    const before = connects.length;
    assert.equal(await deliver(`http://rebind.example:${hook.port}/`, SECRET, 'e', {}, { policy }), 204);
    assert.deepEqual(dns.asked, ['rebind.example'], 'the name was resolved more than once');
    assert.deepEqual(connects.slice(before), ['127.0.0.1']);
    assert.equal(hook.got[0]!.headers.host, `rebind.example:${hook.port}`);
    // The next attempt resolves afresh, and its answer (not in the allow-list) is refused.
    await rejectsWith(deliver(`http://rebind.example:${hook.port}/`, SECRET, 'e', {}, { policy }), 'refused');
    assert.deepEqual(connects.slice(before), ['127.0.0.1']);
  });

  it("TLS goes to the checked address with the URL's host name as server name (and verifies it)", async () => {
    // No certificate: the handshake stops after the server has seen the client's SNI.
    const names: string[] = [];
    const server = tls.createServer({
      SNICallback: (name, cb) => {
        names.push(name);
        cb(new Error('no certificate here'), undefined);
      },
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    const port = (server.address() as AddressInfo).port;
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32', resolve: stubResolver(['127.0.0.1']).resolve });
    const before = connects.length;
    await rejectsWith(deliver(`https://hooks.example:${port}/`, SECRET, 'e', {}, { policy }), 'failed');
    assert.deepEqual(names, ['hooks.example']);
    assert.deepEqual(connects.slice(before), ['127.0.0.1']);
  });

  it('does not follow redirects: a 3xx is a failure', async () => {
    const hook = await receiver((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32' });
    await rejectsWith(
      deliver(`http://127.0.0.1:${hook.port}/`, SECRET, 'e', {}, { policy }),
      'failed',
      /answered 302.*redirects/,
    );
    assert.deepEqual(
      hook.got.map((g) => g.url),
      ['/'],
    );
  });

  it('a non-2xx answer and a refused connection fail (and are retried by the queue)', async () => {
    const hook = await receiver((_req, res) => res.writeHead(500).end('boom'));
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32' });
    await rejectsWith(deliver(`http://127.0.0.1:${hook.port}/`, SECRET, 'e', {}, { policy }), 'failed', /answered 500/);
    const closed = await receiver();
    await closed.close();
    await rejectsWith(deliver(`http://127.0.0.1:${closed.port}/`, SECRET, 'e', {}, { policy }), 'failed');
  });

  it('reads no more of a huge answer than the cap', async () => {
    let written = 0;
    let closed!: () => void;
    const done = new Promise<void>((r) => (closed = r));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const hook = await receiver((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.on('close', closed);
      // An endless body (stopped at 1 GiB so a broken client cannot hang the test).
      const pump = () => {
        while (!res.destroyed && written < 1024 ** 3) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32' });
    const t0 = Date.now();
    assert.equal(await deliver(`http://127.0.0.1:${hook.port}/`, SECRET, 'e', {}, { policy, timeoutMs: 5000 }), 200);
    await done;
    assert.ok(Date.now() - t0 < 4000);
    // What left the server is the cap plus socket buffers, far from the endless body.
    assert.ok(written < 32 * 1024 * 1024, `${written} bytes were sent`);
  });

  it('times out on a receiver that never answers, and on a resolver that never does', async () => {
    const hook = await receiver(() => undefined);
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32' });
    let t0 = Date.now();
    await rejectsWith(
      deliver(`http://127.0.0.1:${hook.port}/`, SECRET, 'e', {}, { policy, timeoutMs: 300 }),
      'failed',
      /timed out/,
    );
    assert.ok(Date.now() - t0 < 3000);
    const hanging = new WebhookPolicy({ resolve: () => new Promise(() => undefined) });
    t0 = Date.now();
    await rejectsWith(
      deliver('http://slow.example/', SECRET, 'e', {}, { policy: hanging, timeoutMs: 300 }),
      'failed',
      /resolve/,
    );
    assert.ok(Date.now() - t0 < 3000);
  });
});

describe('WebhookDeliveries: what a job shows of its webhook', () => {
  const outcomes: WebhookOutcome[] = [];
  const sent: Array<{ data: object; options: SendOptions }> = [];
  const lines: string[] = [];
  let job: JobView;
  let attempts = 0;
  const store = {
    get: async () => job,
    webhooks: {
      beginAttempt: async () => ++attempts,
      record: async (_id: string, o: WebhookOutcome) => void outcomes.push(o),
    },
  } as unknown as JobStore;
  const boss = {
    send: async (_name: string, data: object, options: SendOptions) => void sent.push({ data, options }),
  } as unknown as PgBoss;
  const deliveries = (policy?: WebhookPolicy, maxAttempts = 3) =>
    new WebhookDeliveries({
      boss,
      jobs: store,
      logger: createLogger('warn', { destination: { write: (l: string) => void lines.push(l) } }),
      options: {
        secret: SECRET,
        policy,
        timeoutMs: 2000,
        maxAttempts,
        retryDelayS: 1,
        retryDelayMaxS: 10,
        maxAgeS: 3600,
        concurrency: 2,
        perReceiver: 1,
        breaker: { failures: 2, cooldownMs: 60_000, maxCooldownMs: 120_000 },
      },
    });
  const jobWith = (url: string): JobView => ({
    id: 'j1',
    status: 'completed',
    model: null,
    version: null,
    top_k: null,
    progress: { total: 1, done: 1, failed: 0 },
    webhook: {
      url,
      status: null,
      state: 'pending',
      attempts: 0,
      last_error: null,
      last_status: null,
      delivered_at: null,
    },
    metadata: {},
    created_at: '',
    updated_at: '',
    completed_at: null,
    items: [],
  });
  const servers: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    outcomes.length = 0;
    sent.length = 0;
    lines.length = 0;
    attempts = 0;
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('a policy refusal is final (not retried) and says only that the address is not allowed', async () => {
    job = jobWith('http://hooks.example/');
    const policy = new WebhookPolicy({ resolve: stubResolver(['10.0.0.5']).resolve });
    await deliveries(policy).handle('j1'); // resolves: the queue completes the entry, no retry
    assert.deepEqual(outcomes, [{ kind: 'refused' }]);
    assert.match(lines.join(''), /10\.0\.0\.5 is private/);
    assert.match(lines.join(''), /"level":40/);
  });

  it('the default policy refuses loopback', async () => {
    job = jobWith('http://127.0.0.1:9/');
    await deliveries().handle('j1');
    assert.deepEqual(outcomes, [{ kind: 'refused' }]);
  });

  it('a network failure is retried and shows no detail to the client; the last attempt is final', async () => {
    const hook = await receiver((_req, res) => res.writeHead(503).end());
    servers.push(hook);
    const policy = new WebhookPolicy({ allow: '127.0.0.1/32' });
    job = jobWith(`http://127.0.0.1:${hook.port}/`);
    const d = deliveries(policy, 2);
    await assert.rejects(d.handle('j1'), WebhookError);
    await d.handle('j1'); // the second and last attempt: resolves, so the queue stops retrying
    assert.deepEqual(outcomes, [{ kind: 'retrying' }, { kind: 'failed', attempts: 2 }]);
    const closed = await receiver();
    await closed.close();
    job = jobWith(`http://127.0.0.1:${closed.port}/`);
    await assert.rejects(deliveries(policy, 9).handle('j1'), WebhookError);
    assert.match(lines.join(''), /answered 503/);
    assert.match(lines.join(''), /ECONNREFUSED|connect/);
  });

  it('after enough failures the receiver is deferred without an attempt, in its own group', async () => {
    const hook = await receiver((_req, res) => res.writeHead(500).end());
    servers.push(hook);
    job = jobWith(`http://127.0.0.1:${hook.port}/`);
    const d = deliveries(new WebhookPolicy({ allow: '127.0.0.1/32' }), 9);
    await assert.rejects(d.handle('j1'));
    await assert.rejects(d.handle('j1'));
    const t0 = Date.now();
    await d.handle('j1'); // the circuit is open: queued again for later, nothing sent
    assert.equal(hook.got.length, 2);
    assert.equal(attempts, 2);
    assert.deepEqual(outcomes.at(-1), { kind: 'deferred' });
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.data, { jobId: 'j1' });
    assert.deepEqual(sent[0]!.options.group, { id: `127.0.0.1:${hook.port}` });
    const at = (sent[0]!.options.startAfter as Date).getTime();
    assert.ok(at >= t0 + 59_000 && at <= Date.now() + 61_000, `deferred to ${at - t0} ms`);
    assert.equal(d.breakers.openCount(), 1);
  });

  it('a deferral past the age limit is final: a receiver that stays down cannot keep a job pending', async () => {
    const hook = await receiver((_req, res) => res.writeHead(500).end());
    servers.push(hook);
    job = jobWith(`http://127.0.0.1:${hook.port}/`);
    const d = deliveries(new WebhookPolicy({ allow: '127.0.0.1/32' }), 9);
    await assert.rejects(d.handle('j1'));
    await assert.rejects(d.handle('j1'));
    job = {
      ...job,
      completed_at: new Date(Date.now() - 3601_000).toISOString(),
      webhook: { ...job.webhook!, attempts: 2 },
    };
    await d.handle('j1'); // open circuit, and the job finished over an hour ago: given up
    assert.deepEqual(outcomes.at(-1), { kind: 'failed', attempts: 2 });
    assert.equal(sent.length, 0);
    assert.equal(hook.got.length, 2);
  });

  it('a delivery is recorded; a job whose webhook is decided is not delivered again', async () => {
    const hook = await receiver();
    servers.push(hook);
    job = jobWith(`http://127.0.0.1:${hook.port}/`);
    const d = deliveries(new WebhookPolicy({ allow: '127.0.0.1' }));
    await d.handle('j1');
    assert.deepEqual(outcomes, [{ kind: 'delivered', status: 204 }]);
    assert.equal(JSON.parse(hook.got[0]!.body).data.id, 'j1');
    job = { ...job, webhook: { ...job.webhook!, state: 'delivered' } };
    await d.handle('j1');
    assert.equal(hook.got.length, 1);
  });
});

describe('JobWorker: a finished job handed out again', () => {
  it('queues a webhook never tried (its process died between finishing the job and queueing it)', async () => {
    const queued: string[] = [];
    let job: JobView;
    const worker = new JobWorker({
      boss: {} as PgBoss,
      jobs: { get: async () => job } as unknown as JobStore,
      predictions: {} as PredictionStore,
      backend: {} as InferenceBackend,
      logger: createLogger('silent'),
      webhooks: { enqueue: async (id: string, url: string) => void queued.push(`${id} ${url}`) } as WebhookDeliveries,
      concurrency: 1,
    });
    const webhook = {
      url: 'http://hooks.example/',
      status: null,
      state: 'pending' as const,
      attempts: 0,
      last_error: null,
      last_status: null,
      delivered_at: null,
    };
    const base = {
      id: 'j1',
      status: 'completed' as const,
      model: null,
      version: null,
      top_k: null,
      progress: { total: 1, done: 1, failed: 0 },
      metadata: {},
      created_at: '',
      updated_at: '',
      completed_at: null,
      items: [],
    };
    job = { ...base, webhook };
    await worker.process('j1');
    assert.deepEqual(queued, ['j1 http://hooks.example/']);
    // Tried already (its queue entry exists), decided, or none at all: nothing is queued.
    for (const w of [{ ...webhook, attempts: 1 }, { ...webhook, state: 'delivered' as const }, null]) {
      job = { ...base, webhook: w };
      await worker.process('j1');
    }
    assert.equal(queued.length, 1);
  });
});
