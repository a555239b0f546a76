import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateFloor } from '../../../src/admission/index.ts';
import type { LoupeError } from '../../../src/errors.ts';

describe('the upload rate floor', () => {
  it('cuts an upload below the floor after the grace, once, with REQUEST_TIMEOUT', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const floor = new RateFloor({ minBytesPerS: 1000, graceMs: 2000 });
    const cut: LoupeError[] = [];
    const w = floor.watch((e) => cut.push(e));
    t.mock.timers.tick(1999);
    assert.equal(cut.length, 0, 'within the grace');
    w.arrived(500); // earns 0.5 s
    t.mock.timers.tick(400);
    assert.equal(cut.length, 0);
    t.mock.timers.tick(200);
    assert.equal(cut.length, 1);
    assert.equal(cut[0]!.code, 'REQUEST_TIMEOUT');
    assert.match(cut[0]!.message, /500 bytes in 2\.6 s; after 2000 ms at least 1000 bytes\/s/);
    t.mock.timers.tick(10_000);
    assert.equal(cut.length, 1, 'once');
  });

  it('an upload at the floor or above is never cut; one that completes is no longer watched', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const floor = new RateFloor({ minBytesPerS: 1000, graceMs: 1000 });
    let cut = 0;
    const steady = floor.watch(() => cut++);
    for (let i = 0; i < 60; i++) {
      steady.arrived(1000);
      t.mock.timers.tick(1000);
    }
    assert.equal(cut, 0, 'a minute at the floor');
    steady.stop();
    const done = floor.watch(() => cut++);
    done.stop();
    t.mock.timers.tick(60_000);
    assert.equal(cut, 0);
  });

  it('a stall is made up by what was sent before (an average, not a gap)', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const floor = new RateFloor({ minBytesPerS: 1000, graceMs: 1000 });
    let cut = 0;
    const w = floor.watch(() => cut++);
    w.arrived(10_000); // 10 s earned at once
    t.mock.timers.tick(10_500);
    assert.equal(cut, 0, 'stalled 10.5 s, within 1 + 10 s');
    t.mock.timers.tick(600);
    assert.equal(cut, 1);
  });

  it('0 is no floor', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    let cut = 0;
    new RateFloor({ minBytesPerS: 0, graceMs: 0 }).watch(() => cut++);
    t.mock.timers.tick(3_600_000);
    assert.equal(cut, 0);
  });
});
