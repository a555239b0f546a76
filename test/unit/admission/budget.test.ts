import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UploadBudget } from '../../../src/admission/index.ts';
import type { LoupeError } from '../../../src/errors.ts';

const budget = (maxBytes: number, perClientBytes = 0) => new UploadBudget({ maxBytes, perClientBytes, retryAfterS: 2 });

describe('upload budget', () => {
  it('charges what has arrived, up to the limit, and gives it back', () => {
    const b = budget(100);
    const x = b.open('key:a');
    const y = b.open('key:b');
    assert.equal(x.growTo(60), undefined);
    assert.equal(y.growTo(30), undefined);
    assert.equal(b.inUse, 90);
    const refused = y.growTo(50);
    assert.equal(refused?.code, 'OVERLOADED', 'the whole budget is full: 503 for whoever asks');
    assert.equal(refused?.retryAfterS, 2);
    assert.equal(y.held, 30, 'a refused charge holds nothing more');
    x.release();
    x.release();
    assert.equal(b.inUse, 30, 'released once, however often');
    assert.equal(y.growTo(50), undefined);
    assert.equal(x.growTo(10), undefined, 'a released charge charges nothing more');
    assert.equal(b.inUse, 50);
    y.release();
    assert.equal(b.inUse, 0);
    assert.equal(b.heldBy('key:b'), 0);
  });

  it("a client past its share gets 429 (RATE_LIMITED) while another client's upload goes through", () => {
    const b = budget(100, 40);
    const a1 = b.open('key:attacker');
    const a2 = b.open('key:attacker');
    assert.equal(a1.growTo(30), undefined);
    const refused = a2.growTo(20);
    assert.equal(refused?.code, 'RATE_LIMITED');
    assert.match(refused!.message, /share of the upload budget \(40 bytes\)/);
    assert.equal(b.heldBy('key:attacker'), 30);
    const victim = b.open('key:victim');
    assert.equal(victim.growTo(40), undefined, 'the victim is not held back by the attacker');
    assert.equal(b.heldBy('key:victim'), 40);
    assert.equal(b.inUse, 70);
  });

  it("a client's or process's only upload may pass its limit; 0 is no limit", () => {
    const b = budget(100, 40);
    const alone = b.open('key:a');
    assert.equal(alone.growTo(90), undefined, 'alone for its client: past its share, within the budget');
    assert.equal(alone.growTo(150), undefined, 'alone in the process: past the budget');
    alone.release();
    const other = budget(100, 40);
    const held = other.open('key:b');
    held.growTo(50);
    assert.equal(other.open('key:c').growTo(60)?.code, 'OVERLOADED', 'others hold part of it');
    const none = budget(0, 0);
    assert.equal(none.open('x').growTo(1e12), undefined);
    assert.equal(none.open('x').growTo(1e12), undefined);
  });

  it('shrinks to a message smaller than the bytes that carried it; forgets clients that hold nothing', () => {
    const b = budget(100);
    const c = b.open('ip:1');
    c.growTo(80);
    c.shrinkTo(50);
    assert.equal(b.inUse, 50);
    c.shrinkTo(70);
    assert.equal(c.held, 50, 'never grows by shrinking');
    c.release();
    assert.equal((b as unknown as { clients: Map<string, number> }).clients.size, 0);
  });

  it('an announced size is never charged: only growTo with what arrived', () => {
    const b = budget(100, 40);
    // Seven uploads that announce 100 bytes each and send one: 7 bytes held, room for everyone.
    const dribblers = Array.from({ length: 7 }, () => b.open('key:attacker'));
    for (const d of dribblers) assert.equal(d.growTo(1), undefined);
    assert.equal(b.inUse, 7);
    assert.equal(b.open('key:victim').growTo(90), undefined);
  });

  it('the refusal says which limit, with Retry-After', () => {
    const b = budget(10, 5);
    const e: LoupeError = b.refusal('client');
    assert.equal(e.code, 'RATE_LIMITED');
    assert.equal(b.refusal('global').code, 'OVERLOADED');
    assert.equal(b.refusal('global').retryAfterS, 2);
  });
});
