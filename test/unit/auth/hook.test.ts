import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authHook, generateKey, type Principal } from '../../../src/auth/index.ts';
import { FailedAuthLimiter } from '../../../src/admission/index.ts';
import { LoupeError } from '../../../src/errors.ts';

const good = generateKey();
const principal: Principal = { keyId: good.id, name: 'alice', scopes: ['read'] };

/** Runs the hook on a request to `route` with these headers; the error code it refused with, or the principal. */
async function run(
  route: string | undefined,
  headers: Record<string, string>,
  verify = async (k: string) => (k === good.key ? principal : undefined),
) {
  const req = {
    method: route?.startsWith('POST ') ? 'POST' : 'GET',
    routeOptions: { url: route?.replace(/^POST /, '') },
    headers,
  } as unknown as FastifyRequest;
  const sent: Record<string, string> = {};
  const reply = { header: (k: string, v: string) => (sent[k] = v) } as unknown as FastifyReply;
  try {
    await authHook({ verify })(req, reply);
    return { principal: req.principal, headers: sent };
  } catch (err) {
    assert.ok(err instanceof LoupeError);
    return { code: err.code, retryAfterS: err.retryAfterS, message: err.message, headers: sent };
  }
}

describe('the auth hook', () => {
  it('takes the key from Authorization: Bearer (any case) or X-API-Key', async () => {
    assert.deepEqual((await run('/predictions', { authorization: `Bearer ${good.key}` })).principal, principal);
    assert.deepEqual((await run('/predictions', { authorization: `bearer  ${good.key} ` })).principal, principal);
    assert.deepEqual((await run('/predictions', { 'x-api-key': good.key })).principal, principal);
    // another scheme is no key; X-API-Key still counts
    assert.equal((await run('/predictions', { authorization: `Basic ${good.key}` })).code, 'UNAUTHORIZED');
    assert.deepEqual(
      (await run('/predictions', { authorization: 'Basic x', 'x-api-key': good.key })).principal,
      principal,
    );
  });

  it('401 without a key or with a bad one, 403 without the scope, nothing on open routes', async () => {
    const none = await run('/predictions', {});
    assert.equal(none.code, 'UNAUTHORIZED');
    assert.deepEqual(none.headers, { 'www-authenticate': 'Bearer realm="loupe"' });
    const bad = await run('/predictions', { 'x-api-key': generateKey().key });
    assert.equal(bad.code, 'UNAUTHORIZED');
    assert.deepEqual(bad.headers, { 'www-authenticate': 'Bearer realm="loupe", error="invalid_token"' });
    const huge = await run('/predictions', { 'x-api-key': 'a'.repeat(300) }, async () => assert.fail('looked up'));
    assert.equal(huge.code, 'UNAUTHORIZED');
    const forbidden = await run('POST /predict', { 'x-api-key': good.key });
    assert.equal(forbidden.code, 'FORBIDDEN');
    assert.match(
      forbidden.message!,
      new RegExp(`API key ${good.id} may not POST /predict: it needs the scope predict`),
    );
    assert.deepEqual(await run('/livez', {}, async () => assert.fail('looked up')), {
      principal: undefined,
      headers: {},
    });
  });

  it('a key store it cannot reach is a 503 to retry, not a 500', async () => {
    const r = await run('/predictions', { 'x-api-key': good.key }, async () => {
      throw new Error('connect ECONNREFUSED');
    });
    assert.equal(r.code, 'NOT_READY');
    assert.equal(r.retryAfterS, 1);
  });

  it('an address that keeps failing: its failures get 429, its valid keys still pass, its lookups are gated', async () => {
    const failures = new FailedAuthLimiter({ perMinute: 3 });
    let lookups = 0;
    const gate: { hold?: Promise<void> } = {};
    const verify = async (k: string) => {
      lookups++;
      await gate.hold;
      return k === good.key ? principal : undefined;
    };
    const hook = authHook({ verify }, failures);
    const attempt = async (ip: string, key = 'lp_nope') => {
      const req = { method: 'GET', routeOptions: { url: '/predictions' }, headers: { 'x-api-key': key }, ip };
      try {
        await hook(req as unknown as FastifyRequest, { header: () => undefined } as unknown as FastifyReply);
        return 'ok';
      } catch (err) {
        return (err as LoupeError).code;
      }
    };
    for (let i = 0; i < 3; i++) assert.equal(await attempt('10.7.0.1'), 'UNAUTHORIZED');
    assert.equal(await attempt('10.7.0.1'), 'RATE_LIMITED');
    assert.equal(await attempt('10.7.0.1', good.key), 'ok', 'a valid key from a blocked address is let through');
    assert.equal(await attempt('10.7.0.2'), 'UNAUTHORIZED', 'another address is not blocked');
    // While one lookup of the blocked address runs, its other bad keys are refused without one.
    let open!: () => void;
    gate.hold = new Promise((r) => (open = r));
    const before = lookups;
    const pending = Array.from({ length: 5 }, () => attempt('10.7.0.1', generateKey().key));
    const valid = attempt('10.7.0.1', good.key);
    await new Promise((r) => setImmediate(r));
    assert.equal(lookups - before, 2, 'one gated lookup, and the recent valid key past the gate');
    open();
    assert.deepEqual(await Promise.all(pending), Array(5).fill('RATE_LIMITED'));
    assert.equal(await valid, 'ok');
    assert.ok(failures.blockedFor('10.7.0.1') >= 1);
  });
});
