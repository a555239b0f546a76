import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runUntilSignal, type Service, type ServiceState } from '../../../src/lifecycle/index.ts';
import { createLogger } from '../../../src/observability/index.ts';

describe('runUntilSignal with a shutdown delay', () => {
  it('keeps serving for the delay after SIGTERM, then drains and exits 0', async () => {
    let stoppedAt = 0;
    const service: Service = {
      state: 'running' as ServiceState,
      start: async () => undefined,
      stop: async () => {
        stoppedAt = Date.now();
      },
    };
    const exits: number[] = [];
    const before = new Set(process.listeners('SIGTERM'));
    runUntilSignal(service, createLogger('silent'), 5000, (c) => exits.push(c), { delayMs: 400 });
    const mine = process.listeners('SIGTERM').filter((l) => !before.has(l));
    try {
      const t0 = Date.now();
      process.emit('SIGTERM', 'SIGTERM');
      await sleep(200);
      assert.equal(stoppedAt, 0, 'stopped before the delay was over');
      assert.deepEqual(exits, []);
      await sleep(500);
      assert.ok(stoppedAt - t0 >= 390, `stopped after ${stoppedAt - t0} ms`);
      assert.deepEqual(exits, [0]);
    } finally {
      for (const l of mine) {
        process.off('SIGTERM', l);
        process.off('SIGINT', l);
      }
    }
  });

  it('a second signal during the delay drains at once (never exits mid-request); a third exits 1', async () => {
    let release!: () => void;
    let stops = 0;
    const service: Service = {
      state: 'running' as ServiceState,
      start: async () => undefined,
      // An in-flight request: the drain waits for it.
      stop: () => {
        stops++;
        return new Promise<void>((r) => (release = r));
      },
    };
    const exits: number[] = [];
    const before = new Set(process.listeners('SIGTERM'));
    runUntilSignal(service, createLogger('silent'), 5000, (c) => exits.push(c), { delayMs: 60_000 });
    const mine = process.listeners('SIGTERM').filter((l) => !before.has(l));
    try {
      process.emit('SIGTERM', 'SIGTERM');
      await sleep(50);
      assert.equal(stops, 0, 'drained before the delay');
      process.emit('SIGTERM', 'SIGTERM');
      await sleep(50);
      assert.equal(stops, 1, 'the second signal did not start the drain');
      assert.deepEqual(exits, [], 'exited while a request was in flight');
      release();
      await sleep(50);
      assert.deepEqual(exits, [0]);
      process.emit('SIGINT', 'SIGINT');
      assert.deepEqual(exits, [0, 1]);
      assert.equal(stops, 1);
    } finally {
      for (const l of mine) {
        process.off('SIGTERM', l);
        process.off('SIGINT', l);
      }
    }
  });
});
