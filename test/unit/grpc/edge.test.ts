import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { FailedAuthLimiter, generateKey, type Principal } from '../../../src/auth/index.ts';
import { ClientLimits } from '../../../src/clients/index.ts';
import { type LoupeError } from '../../../src/errors.ts';
import { CallEdge, type EdgeDeps } from '../../../src/grpc/edge.ts';
import { MESSAGE_BYTES } from '../../../src/grpc/proto.ts';
import { UploadBudget } from '../../../src/http/upload-budget.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';

const MAX = 100;
const good = generateKey();
const reader: Principal = { keyId: good.id, name: 'r', scopes: ['read'] };
const predictor: Principal = { keyId: good.id, name: 'p', scopes: ['predict'] };

function deps(over: Partial<EdgeDeps> = {}): EdgeDeps {
  return {
    logger: createLogger('silent', { pretty: false }),
    metrics: createMetrics(),
    keys: undefined,
    failures: new FailedAuthLimiter(),
    limits: undefined,
    budget: new UploadBudget(250),
    maxMessageBytes: MAX,
    retryAfterS: 1,
    requestTimeoutMs: 0,
    addressOf: (peer) => peer,
    ...over,
  };
}
const md = (entries: Record<string, string> = {}) => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
};
const message = (bytes: number) => ({ [MESSAGE_BYTES]: bytes });
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => 'admitted',
    (e: LoupeError) => e.code,
  );

describe('the gRPC edge', () => {
  it('holds the largest message from the upload budget until its message is in, then only its size', async () => {
    const d = deps();
    const a = new CallEdge(d, 'ModelInfer', md());
    const b = new CallEdge(d, 'ModelInfer', md());
    const c = new CallEdge(d, 'ModelInfer', md());
    await a.admit(md(), '127.0.0.1');
    await b.admit(md(), '127.0.0.1');
    assert.equal(d.budget.inUse, 200);
    let cIn = false;
    const cAdmitted = c.admit(md(), '127.0.0.1').then(() => (cIn = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(cIn, false, 'no room for a third largest message: it waits');
    a.received(message(10));
    await cAdmitted;
    assert.equal(d.budget.inUse, 210);
    b.finish({ code: grpc.status.OK, details: '' });
    c.finish({ code: grpc.status.CANCELLED, details: '' });
    a.finish({ code: grpc.status.OK, details: '' });
    a.finish({ code: grpc.status.OK, details: '' });
    assert.equal(d.budget.inUse, 0);
  });

  it('refuses with OVERLOADED when no room comes within its wait', { timeout: 10_000 }, async () => {
    const d = deps({ budget: new UploadBudget(150) });
    await new CallEdge(d, 'ModelInfer', md()).admit(md(), '');
    const started = Date.now();
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), '')), 'OVERLOADED');
    assert.ok(Date.now() - started >= 4900);
  });

  it('checks keys and scopes as HTTP does; the health RPCs need none', async () => {
    const keys = { verify: async (k: string) => (k === good.key ? reader : undefined) };
    const d = deps({ keys, budget: new UploadBudget(0) });
    const admit = (method: string, m: grpc.Metadata) => refusal(new CallEdge(d, method, m).admit(m, '10.0.0.1'));
    assert.equal(await admit('ServerLive', md()), 'admitted');
    assert.equal(await admit('ServerReady', md()), 'admitted');
    assert.equal(await admit('ServerMetadata', md()), 'UNAUTHORIZED');
    assert.equal(await admit('ModelMetadata', md({ authorization: 'Bearer nope' })), 'UNAUTHORIZED');
    assert.equal(await admit('ModelMetadata', md({ authorization: `Bearer ${good.key}` })), 'admitted');
    assert.equal(await admit('ModelConfig', md({ 'x-api-key': good.key })), 'admitted');
    assert.equal(await admit('ModelInfer', md({ 'x-api-key': good.key })), 'FORBIDDEN');
  });

  it('counts the rate per client and the in-flight places of inference calls', async () => {
    const limits = new ClientLimits({
      LOUPE_RATE_LIMIT_PER_MINUTE: 3,
      LOUPE_MAX_INFLIGHT_PER_CLIENT: 1,
      LOUPE_RETRY_AFTER_S: 1,
    });
    const d = deps({ limits, budget: new UploadBudget(0) });
    const first = new CallEdge(d, 'ModelInfer', md());
    assert.equal(await refusal(first.admit(md(), 'a')), 'admitted');
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'a')), 'RATE_LIMITED');
    first.finish({ code: grpc.status.OK, details: '' });
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'a')), 'admitted');
    assert.equal(await refusal(new CallEdge(d, 'ServerMetadata', md()).admit(md(), 'a')), 'RATE_LIMITED');
    assert.equal(await refusal(new CallEdge(d, 'ServerLive', md()).admit(md(), 'a')), 'admitted');
    assert.equal(await refusal(new CallEdge(d, 'ServerMetadata', md()).admit(md(), 'b')), 'admitted');
  });

  it('a message that does not arrive within LOUPE_REQUEST_TIMEOUT_MS ends the call (DEADLINE_EXCEEDED)', async () => {
    const d = deps({ requestTimeoutMs: 50 });
    const slow = new CallEdge(d, 'ModelInfer', md({ 'x-request-id': 'slow-1' }));
    await slow.admit(md(), '');
    const status = await new Promise<grpc.StatusObject>((resolve) => slow.awaitMessage(resolve));
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(status.details, 'the request message did not arrive within 50 ms (request id slow-1)');
    slow.finish(status);
    assert.equal(d.budget.inUse, 0);
    const quick = new CallEdge(d, 'ModelInfer', md());
    await quick.admit(md(), '');
    let fired = false;
    quick.awaitMessage(() => (fired = true));
    quick.received(message(5));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fired, false);
    quick.finish({ code: grpc.status.OK, details: '' });
  });

  it('open and small RPCs hold nothing from the budget and never wait for it; a refused inference call holds none', async () => {
    const keys = { verify: async (k: string) => (k === good.key ? predictor : undefined) };
    const d = deps({ keys, budget: new UploadBudget(150) });
    const holder = new CallEdge(d, 'ModelInfer', md());
    await holder.admit(md({ 'x-api-key': good.key }), 'h');
    assert.equal(d.budget.inUse, MAX, 'the budget has no room for another largest message');
    const started = Date.now();
    for (const method of ['ServerLive', 'ServerReady', 'ServerMetadata', 'ModelMetadata', 'RepositoryIndex']) {
      const e = new CallEdge(d, method, md());
      assert.equal(e.uploads, false);
      assert.equal(await refusal(e.admit(md({ 'x-api-key': good.key }), 'x')), 'admitted', method);
    }
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'x')), 'UNAUTHORIZED');
    assert.equal(
      await refusal(new CallEdge(d, 'ModelInfer', md({ 'x-api-key': 'nope' })).admit(md(), 'x')),
      'UNAUTHORIZED',
    );
    assert.ok(Date.now() - started < 1000, 'none of them waited for room');
    assert.equal(d.budget.inUse, MAX);
    assert.equal(d.budget.waiters, 0);
    holder.finish({ code: grpc.status.OK, details: '' });
    assert.equal(d.budget.inUse, 0);
  });

  it("takes the client's in-flight place before room in the budget: a key past its share holds none", async () => {
    const limits = new ClientLimits({
      LOUPE_RATE_LIMIT_PER_MINUTE: 0,
      LOUPE_MAX_INFLIGHT_PER_CLIENT: 1,
      LOUPE_RETRY_AFTER_S: 1,
    });
    const d = deps({ limits, budget: new UploadBudget(1000) });
    const one = new CallEdge(d, 'ModelInfer', md());
    await one.admit(md(), 'a');
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'a')), 'RATE_LIMITED');
    assert.equal(d.budget.inUse, MAX, 'the refused call reserved nothing');
    one.finish({ code: grpc.status.OK, details: '' });
    assert.equal(d.budget.inUse, 0);
  });

  it('a call that ends during its key lookup keeps nothing: no budget, no in-flight place', async () => {
    const keys = {
      verify: async (k: string) => {
        await new Promise((r) => setTimeout(r, 30));
        return k === good.key ? predictor : undefined;
      },
    };
    const limits = new ClientLimits({
      LOUPE_RATE_LIMIT_PER_MINUTE: 0,
      LOUPE_MAX_INFLIGHT_PER_CLIENT: 1,
      LOUPE_RETRY_AFTER_S: 1,
    });
    const d = deps({ keys, limits, budget: new UploadBudget(1000) });
    const m = md({ authorization: `Bearer ${good.key}` });
    const gone = new CallEdge(d, 'ModelInfer', m);
    const admitted = refusal(gone.admit(m, '1.2.3.4'));
    gone.finish({ code: grpc.status.CANCELLED, details: '' });
    await admitted;
    assert.equal(d.budget.inUse, 0);
    const next = new CallEdge(d, 'ModelInfer', m);
    assert.equal(await refusal(next.admit(m, '1.2.3.4')), 'admitted', "the key's one in-flight place is free");
    next.finish({ code: grpc.status.OK, details: '' });
    assert.equal(d.budget.inUse, 0);
  });

  it('a call that ends while it waits for room leaves the line at once; the next in line gets the room', async () => {
    const d = deps({ budget: new UploadBudget(150) });
    const holder = new CallEdge(d, 'ModelInfer', md());
    await holder.admit(md(), '');
    const gone = new CallEdge(d, 'ModelInfer', md());
    const goneAdmitted = refusal(gone.admit(md(), ''));
    const next = new CallEdge(d, 'ModelInfer', md());
    let nextIn = false;
    const nextAdmitted = next.admit(md(), '').then(() => (nextIn = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(d.budget.waiters, 2);
    gone.finish({ code: grpc.status.CANCELLED, details: '' });
    await goneAdmitted;
    assert.equal(d.budget.waiters, 1, 'the cancelled call left the line');
    assert.equal(nextIn, false);
    holder.finish({ code: grpc.status.OK, details: '' });
    await nextAdmitted;
    assert.equal(d.budget.inUse, MAX, 'only the one still waiting holds room');
    next.finish({ code: grpc.status.OK, details: '' });
    assert.equal(d.budget.inUse, 0);
  });

  it('a message that came before the wait was armed is never timed out; a small RPC waits briefly', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const d = deps({ requestTimeoutMs: 0 });
    const quick = new CallEdge(deps({ requestTimeoutMs: 50 }), 'ModelInfer', md());
    quick.received(message(5));
    let fired = false;
    quick.awaitMessage(() => (fired = true));
    const small = new CallEdge(d, 'ServerMetadata', md());
    let status: grpc.StatusObject | undefined;
    small.awaitMessage((s) => (status = s));
    const upload = new CallEdge(d, 'ModelInfer', md());
    upload.awaitMessage(() => (fired = true));
    t.mock.timers.tick(5000);
    assert.equal(
      fired,
      false,
      'the message that came first is not late; LOUPE_REQUEST_TIMEOUT_MS 0: no limit for an upload',
    );
    assert.equal(status?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(status?.details ?? '', /did not arrive within 5000 ms/);
  });

  it('keeps a sane client request id and sends it back in the trailers', () => {
    const e = new CallEdge(deps(), 'ServerLive', md({ 'x-request-id': 'abc-1' }));
    assert.equal(e.id, 'abc-1');
    const s = e.finish({ code: grpc.status.OK, details: '' });
    assert.deepEqual(s.metadata?.get('x-request-id'), ['abc-1']);
    assert.match(new CallEdge(deps(), 'ServerLive', md({ 'x-request-id': 'no spaces' })).id, /^[0-9a-f-]{36}$/);
    assert.equal(new CallEdge(deps(), 'ModelStreamInfer', md()).served, false);
    assert.match(new CallEdge(deps(), 'RepositoryModelLoad', md()).unimplemented().details, /loads every version/);
  });
});
