import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreakers, receiverOf } from '../../../src/jobs/index.ts';

describe('webhook circuit breakers', () => {
  const make = () => {
    const clock = { t: 1_000_000 };
    const b = new CircuitBreakers({ failures: 3, cooldownMs: 1000, maxCooldownMs: 3000, now: () => clock.t });
    return { b, clock };
  };

  it('stays closed below the threshold; a success resets the count', () => {
    const { b } = make();
    b.failure('a:80');
    b.failure('a:80');
    b.success('a:80');
    b.failure('a:80');
    b.failure('a:80');
    assert.deepEqual(b.admit('a:80'), { go: true, probe: false });
    assert.equal(b.openCount(), 0);
  });

  it('opens after N failures in a row, for that receiver only', () => {
    const { b, clock } = make();
    assert.equal(b.failure('dead:80'), undefined);
    assert.equal(b.failure('dead:80'), undefined);
    assert.equal(b.failure('dead:80'), clock.t + 1000, 'the failure that opens it says until when');
    assert.deepEqual(b.admit('dead:80'), { go: false, until: clock.t + 1000 });
    assert.deepEqual(b.admit('alive:80'), { go: true, probe: false });
    assert.equal(b.openCount(), 1);
  });

  it('half-open after the cool-down: one probe goes, the others wait for it', () => {
    const { b, clock } = make();
    for (let i = 0; i < 3; i++) b.failure('h:80');
    clock.t += 1000;
    assert.deepEqual(b.admit('h:80'), { go: true, probe: true });
    const second = b.admit('h:80');
    assert.equal(second.go, false);
    // A probe that succeeds closes the circuit.
    assert.equal(b.success('h:80'), true);
    assert.equal(b.success('h:80'), false);
    assert.deepEqual(b.admit('h:80'), { go: true, probe: false });
    assert.equal(b.openCount(), 0);
  });

  it('a failed probe opens it again for twice as long, up to the cap', () => {
    const { b, clock } = make();
    for (let i = 0; i < 3; i++) b.failure('h:80');
    const cooldowns: number[] = [];
    for (let round = 0; round < 4; round++) {
      const closed = b.admit('h:80');
      assert.equal(closed.go, false);
      if (!closed.go) {
        cooldowns.push(closed.until - clock.t);
        clock.t = closed.until;
      }
      assert.deepEqual(b.admit('h:80'), { go: true, probe: true });
      b.failure('h:80');
    }
    assert.deepEqual(cooldowns, [1000, 2000, 3000, 3000]);
  });

  it('a failure reported while open (a delivery that started earlier) does not extend it', () => {
    const { b, clock } = make();
    for (let i = 0; i < 3; i++) b.failure('h:80');
    clock.t += 500;
    b.failure('h:80');
    assert.deepEqual(b.admit('h:80'), { go: false, until: clock.t + 500 });
  });

  it('a probe whose outcome never comes frees its slot after one more cool-down', () => {
    const { b, clock } = make();
    for (let i = 0; i < 3; i++) b.failure('h:80');
    clock.t += 1000;
    assert.equal(b.admit('h:80').go, true);
    clock.t += 999;
    assert.equal(b.admit('h:80').go, false);
    clock.t += 1;
    assert.deepEqual(b.admit('h:80'), { go: true, probe: true });
  });

  it('remembers a bounded number of receivers, forgetting the oldest', () => {
    const b = new CircuitBreakers({ failures: 1, cooldownMs: 1000, maxCooldownMs: 1000, maxReceivers: 3 });
    for (const r of ['a:80', 'b:80', 'c:80', 'd:80']) b.failure(r);
    assert.equal(b.openCount(), 3);
    assert.equal(b.admit('a:80').go, true);
    assert.equal(b.admit('d:80').go, false);
  });

  it('a receiver is host:port, lower-case, with the default port filled in', () => {
    assert.equal(receiverOf('https://Hooks.Example/in?x=1'), 'hooks.example:443');
    assert.equal(receiverOf('http://hooks.example/in'), 'hooks.example:80');
    assert.equal(receiverOf('http://[::1]:8080/'), '[::1]:8080');
    assert.equal(receiverOf('http://a.example:80/'), 'a.example:80');
    assert.equal(receiverOf('not a url'), undefined);
  });
});
