import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shownUrl } from '../../../src/roles/tracing.ts';

describe('the tracing endpoint in log lines', () => {
  it('drops credentials and the query a collector URL may carry', () => {
    assert.equal(
      shownUrl('https://user:s3cret@collector.example:4318/v1/traces?token=abc'),
      'https://collector.example:4318/v1/traces',
    );
    assert.equal(shownUrl('http://127.0.0.1:4318/v1/traces'), 'http://127.0.0.1:4318/v1/traces');
    assert.equal(shownUrl(undefined), undefined);
  });
});
