import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { createAdmission, type Admission } from '../../../src/admission/index.ts';
import { generateKey, type Principal } from '../../../src/auth/index.ts';
import { type LoupeError } from '../../../src/errors.ts';
import { CallEdge, type EdgeDeps } from '../../../src/grpc/edge.ts';
import { MESSAGE_BYTES } from '../../../src/grpc/proto.ts';
import { unimplemented } from '../../../src/grpc/rpcs.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';

const good = generateKey();
const reader: Principal = { keyId: good.id, name: 'r', scopes: ['read'] };
const predictor: Principal = { keyId: good.id, name: 'p', scopes: ['predict'] };

interface AdmissionOver {
  budget?: number;
  perClient?: number;
  perMinute?: number;
  inFlight?: number;
  rate?: number;
  graceMs?: number;
}
const admission = (o: AdmissionOver = {}): Admission =>
  createAdmission({
    budget: { maxBytes: o.budget ?? 250, perClientBytes: o.perClient ?? 0, retryAfterS: 1 },
    rateFloor: { minBytesPerS: o.rate ?? 0, graceMs: o.graceMs ?? 0 },
    clientLimits:
      o.perMinute !== undefined || o.inFlight !== undefined
        ? { perMinute: o.perMinute ?? 0, maxInFlight: o.inFlight ?? 0, retryAfterS: 1 }
        : undefined,
  });

function deps(over: Partial<EdgeDeps> = {}): EdgeDeps {
  return {
    logger: createLogger('silent', { pretty: false }),
    metrics: createMetrics(),
    keys: undefined,
    admission: admission(),
    requestTimeoutMs: 0,
    addressOf: (peer) => peer,
    ...over,
  };
}
const inUse = (d: EdgeDeps) => d.admission.budget.inUse;
const OK = { code: grpc.status.OK, details: '' };
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
  it('charges an inference call its bytes as they arrive, nothing before; gives them back when it ends', async () => {
    const d = deps();
    const headerOnly = new CallEdge(d, 'ModelInfer', md());
    await headerOnly.admit(md(), '127.0.0.1');
    assert.equal(inUse(d), 0, 'a stream with headers and no message holds nothing');
    const a = new CallEdge(d, 'ModelInfer', md());
    await a.admit(md(), '127.0.0.1');
    assert.equal(a.arrived(60), undefined);
    assert.equal(a.arrived(40), undefined);
    assert.equal(inUse(d), 100);
    assert.equal(a.received(message(95)), undefined, 'seen arriving: not charged twice');
    assert.equal(inUse(d), 100);
    a.finish(OK);
    a.finish(OK);
    headerOnly.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it("a client past its share is RESOURCE_EXHAUSTED, another client's call goes on; a full budget is UNAVAILABLE", async () => {
    const d = deps({ admission: admission({ budget: 250, perClient: 100 }) });
    const [a1, a2] = [new CallEdge(d, 'ModelInfer', md()), new CallEdge(d, 'ModelInfer', md())];
    await a1.admit(md(), 'attacker');
    await a2.admit(md(), 'attacker');
    assert.equal(a1.arrived(80), undefined);
    const refused = a2.arrived(30);
    assert.equal(refused?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(refused!.details, /share of the upload budget/);
    assert.deepEqual(refused!.metadata.get('retry-after'), ['1']);
    const v = new CallEdge(d, 'ModelInfer', md());
    await v.admit(md(), 'victim');
    assert.equal(v.arrived(100), undefined);
    const w = new CallEdge(d, 'ModelInfer', md());
    await w.admit(md(), 'third');
    assert.equal(w.arrived(100)?.code, grpc.status.UNAVAILABLE, '80 + 100 + 100 > 250');
    for (const e of [a1, a2, v, w]) e.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it('a message whose bytes were not seen arriving is charged when it arrives whole', async () => {
    const d = deps({ admission: admission({ budget: 100 }) });
    const a = new CallEdge(d, 'ModelInfer', md());
    const b = new CallEdge(d, 'ModelInfer', md());
    await a.admit(md(), 'a');
    await b.admit(md(), 'b');
    assert.equal(a.received(message(70)), undefined);
    assert.equal(inUse(d), 70);
    assert.equal(b.received(message(70))?.code, grpc.status.UNAVAILABLE);
    a.finish(OK);
    b.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it('an inference call below the upload rate floor is DEADLINE_EXCEEDED after the grace, and holds nothing from then', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const d = deps({ admission: admission({ rate: 100, graceMs: 1000 }) });
    const slow = new CallEdge(d, 'ModelInfer', md({ 'x-request-id': 'slow-2' }));
    await slow.admit(md(), 'a');
    const got: { status?: grpc.StatusObject } = {};
    slow.timeMessage((s) => (got.status = s));
    slow.arrived(50); // earns 0.5 s
    t.mock.timers.tick(1400);
    assert.equal(got.status === undefined, true, 'not yet');
    assert.equal(inUse(d), 50);
    t.mock.timers.tick(200);
    assert.equal(got.status?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.match(got.status!.details, /the upload is too slow: 50 bytes in 1\.6 s.*\(request id slow-2\)/);
    assert.equal(inUse(d), 0, 'given back at once, before the call has ended');
    const quick = new CallEdge(d, 'ModelInfer', md());
    await quick.admit(md(), 'b');
    let fired = false;
    quick.timeMessage(() => (fired = true));
    quick.received(message(10));
    t.mock.timers.tick(60_000);
    assert.equal(fired, false, 'a message that is in is not watched');
    const small = new CallEdge(d, 'ServerMetadata', md());
    let smallStatus: grpc.StatusObject | undefined;
    small.timeMessage((s) => (smallStatus = s));
    t.mock.timers.tick(60_000);
    // Only its own deadline ends a small call, never the floor, which is for uploads.
    assert.match(smallStatus?.details ?? '', /did not arrive within 5000 ms/);
  });

  it('checks keys and scopes as HTTP does; the health RPCs need none', async () => {
    const keys = { verify: async (k: string) => (k === good.key ? reader : undefined) };
    const d = deps({ keys, admission: admission({ budget: 0 }) });
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
    const d = deps({ admission: admission({ budget: 0, perMinute: 3, inFlight: 1 }) });
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
    const status = await new Promise<grpc.StatusObject>((resolve) => slow.timeMessage(resolve));
    assert.equal(status.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(status.details, 'the request message did not arrive within 50 ms (request id slow-1)');
    slow.finish(status);
    assert.equal(inUse(d), 0);
    const quick = new CallEdge(d, 'ModelInfer', md());
    await quick.admit(md(), '');
    let fired = false;
    quick.timeMessage(() => (fired = true));
    quick.received(message(5));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fired, false);
    quick.finish({ code: grpc.status.OK, details: '' });
  });

  it('open and small RPCs hold nothing from the budget; a refused inference call holds none', async () => {
    const keys = { verify: async (k: string) => (k === good.key ? predictor : undefined) };
    const d = deps({ keys, admission: admission({ budget: 150 }) });
    const holder = new CallEdge(d, 'ModelInfer', md());
    await holder.admit(md({ 'x-api-key': good.key }), 'h');
    holder.arrived(150);
    assert.equal(inUse(d), 150, 'the budget is full');
    for (const method of ['ServerLive', 'ServerReady', 'ServerMetadata', 'ModelMetadata', 'RepositoryIndex']) {
      const e = new CallEdge(d, method, md());
      assert.equal(e.uploads, false);
      assert.equal(await refusal(e.admit(md({ 'x-api-key': good.key }), 'x')), 'admitted', method);
      assert.equal(e.arrived(10), undefined, `${method}: not charged`);
    }
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'x')), 'UNAUTHORIZED');
    assert.equal(
      await refusal(new CallEdge(d, 'ModelInfer', md({ 'x-api-key': 'nope' })).admit(md(), 'x')),
      'UNAUTHORIZED',
    );
    assert.equal(inUse(d), 150);
    holder.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it('a key past its in-flight places is refused before it is read, and holds nothing', async () => {
    const d = deps({ admission: admission({ budget: 1000, perMinute: 0, inFlight: 1 }) });
    const one = new CallEdge(d, 'ModelInfer', md());
    await one.admit(md(), 'a');
    one.arrived(100);
    assert.equal(await refusal(new CallEdge(d, 'ModelInfer', md()).admit(md(), 'a')), 'RATE_LIMITED');
    assert.equal(inUse(d), 100, 'the refused call holds nothing');
    one.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it('a call that ends during its key lookup keeps nothing: no budget, no in-flight place', async () => {
    const keys = {
      verify: async (k: string) => {
        await new Promise((r) => setTimeout(r, 30));
        return k === good.key ? predictor : undefined;
      },
    };
    const d = deps({ keys, admission: admission({ budget: 1000, perMinute: 0, inFlight: 1 }) });
    const m = md({ authorization: `Bearer ${good.key}` });
    const gone = new CallEdge(d, 'ModelInfer', m);
    const admitted = refusal(gone.admit(m, '1.2.3.4'));
    gone.finish({ code: grpc.status.CANCELLED, details: '' });
    await admitted;
    assert.equal(gone.arrived(10), undefined);
    assert.equal(inUse(d), 0);
    const next = new CallEdge(d, 'ModelInfer', m);
    assert.equal(await refusal(next.admit(m, '1.2.3.4')), 'admitted', "the key's one in-flight place is free");
    next.finish(OK);
    assert.equal(inUse(d), 0);
  });

  it('a message that came before the wait was armed is never timed out; a small RPC waits briefly', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const d = deps({ requestTimeoutMs: 0 });
    const quick = new CallEdge(deps({ requestTimeoutMs: 50 }), 'ModelInfer', md());
    quick.received(message(5));
    let fired = false;
    quick.timeMessage(() => (fired = true));
    const small = new CallEdge(d, 'ServerMetadata', md());
    let status: grpc.StatusObject | undefined;
    small.timeMessage((s) => (status = s));
    const upload = new CallEdge(d, 'ModelInfer', md());
    upload.timeMessage(() => (fired = true));
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
    assert.equal(new CallEdge(deps(), 'ModelStreamInfer', md()).served, true);
    assert.equal(new CallEdge(deps(), 'CudaSharedMemoryStatus', md()).served, false);
    assert.match(unimplemented('SystemSharedMemoryStatus', 'r-1').details, /send tensors.*\(request id r-1\)/);
    assert.equal(new CallEdge(deps(), 'RepositoryModelLoad', md()).served, true);
  });
});
