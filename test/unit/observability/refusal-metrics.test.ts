import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Registry } from 'prom-client';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import { countRefusal, createMetrics } from '../../../src/observability/index.ts';
import { parseExposition, sum } from '../../helpers/metrics.ts';

const exposition = async (registry: Registry) => parseExposition(await registry.metrics());

describe('refusal counters', () => {
  it('every transport and reason starts at 0; a refusal counts once in its own counter; other errors count nothing', async () => {
    const m = createMetrics();
    let s = await exposition(m.registry);
    for (const transport of ['http', 'grpc']) {
      for (const reason of ['missing', 'invalid', 'forbidden', 'locked_out'])
        assert.equal(
          s.filter(
            (x) =>
              x.name === 'loupe_auth_failures_total' && x.labels.transport === transport && x.labels.reason === reason,
          ).length,
          1,
        );
      for (const reason of ['rate_limit', 'in_flight', 'upload_share', 'upload_budget', 'rate_floor', 'queue_full'])
        assert.equal(
          s.filter(
            (x) =>
              x.name === 'loupe_admission_refusals_total' &&
              x.labels.transport === transport &&
              x.labels.reason === reason,
          ).length,
          1,
        );
    }
    assert.equal(sum(s, 'loupe_auth_failures_total') + sum(s, 'loupe_admission_refusals_total'), 0);
    countRefusal(
      m,
      'grpc',
      new LoupeError(ErrorCode.Forbidden, 'no', { refusal: { kind: 'auth', reason: 'forbidden' } }),
    );
    countRefusal(
      m,
      'http',
      new LoupeError(ErrorCode.RateLimited, 'slow down', { refusal: { kind: 'admission', reason: 'in_flight' } }),
    );
    countRefusal(m, 'http', new LoupeError(ErrorCode.BadRequest, 'not a refusal'));
    countRefusal(m, 'http', undefined);
    s = await exposition(m.registry);
    assert.equal(sum(s, 'loupe_auth_failures_total', { transport: 'grpc', reason: 'forbidden' }), 1);
    assert.equal(sum(s, 'loupe_admission_refusals_total', { transport: 'http', reason: 'in_flight' }), 1);
    assert.equal(sum(s, 'loupe_auth_failures_total') + sum(s, 'loupe_admission_refusals_total'), 2);
  });
});
