import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { registerJobGauges } from '../../../src/observability/index.ts';
import { parseExposition, sum } from '../../helpers/metrics.ts';

const exposition = async (registry: Registry) => parseExposition(await registry.metrics());

describe('job gauges', () => {
  it('one backlog read serves a scrape and the next within the cache; no circuit gauge without webhooks', async () => {
    const registry = new Registry();
    let reads = 0;
    registerJobGauges(
      registry,
      {
        backlog: async () => {
          reads++;
          return { queued: 3 * reads, running: 1, oldestQueuedS: 12.5 };
        },
      },
      { cacheMs: 50 },
    );
    let s = await exposition(registry);
    assert.equal(sum(s, 'loupe_jobs', { status: 'queued' }), 3);
    assert.equal(sum(s, 'loupe_jobs', { status: 'running' }), 1);
    assert.equal(sum(s, 'loupe_jobs_oldest_queued_age_seconds'), 12.5);
    assert.equal(s.filter((x) => x.name === 'loupe_webhook_circuits_open').length, 0);
    await exposition(registry);
    assert.equal(reads, 1, 'cached');
    await sleep(80);
    s = await exposition(registry);
    assert.equal(reads, 2);
    assert.equal(sum(s, 'loupe_jobs', { status: 'queued' }), 6);
  });
});
