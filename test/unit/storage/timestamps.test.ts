import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalTimestamp, decodeCursor, encodeCursor } from '../../../src/storage/timestamps.ts';

describe('client timestamps and cursors', () => {
  it('canonicalTimestamp: RFC 3339 (and PostgreSQL text) → UTC with microseconds', () => {
    const ok: Array<[string, string]> = [
      ['2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000000Z'],
      ['2024-05-01t12:00:00.5z', '2024-05-01T12:00:00.500000Z'],
      ['2024-05-01T12:00:00.123456789+02:00', '2024-05-01T10:00:00.123456Z'],
      ['2024-05-01T00:30:00+23:59', '2024-04-30T00:31:00.000000Z'],
      ['2024-02-29T00:00:00-00:00', '2024-02-29T00:00:00.000000Z'],
      ['2024-12-31T23:59:60Z', '2025-01-01T00:00:00.000000Z'],
      ['2026-11-27 21:40:01.123456+00', '2026-11-27T21:40:01.123456Z'],
      ['1883-11-18 12:03:58-04:56:02', '1883-11-18T17:00:00.000000Z'],
      ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000000Z'],
      ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000000Z'],
      ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
    ];
    for (const [input, expected] of ok) assert.equal(canonicalTimestamp(input), expected, input);
    for (const bad of [
      '',
      'garbage',
      '2024-05-01',
      '2024-13-01T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:60:00Z',
      '2024-05-01T12:00:61Z',
      '2024-05-01T12:00:00+24:00',
      '2024-05-01T12:00:00',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:00:00+00:01',
      '9999-12-31T23:59:59-00:01',
      '10000-01-01T00:00:00Z',
      '2024-05-01T12:00:00Z ',
      '2024-05-01T12:00:00Z\u0000',
    ])
      assert.equal(canonicalTimestamp(bad), undefined, JSON.stringify(bad));
  });

  it('cursors round-trip; anything else is refused', () => {
    const id = randomUUID();
    assert.deepEqual(decodeCursor(encodeCursor('2024-05-01T12:00:00.000001Z', id)), {
      timestamp: '2024-05-01T12:00:00.000001Z',
      id,
    });
    const b64 = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of [
      '',
      'garbage',
      '!!!',
      b64(`2024-05-01T12:00:00Z`),
      b64(`2024-05-01T12:00:00Z|${id}|x`),
      b64(`2024-05-01T12:00:00Z|${'-'.repeat(36)}`),
      b64(`2024-13-01T12:00:00Z|${id}`),
      b64(`x|${id}`),
      'A'.repeat(300),
    ])
      assert.equal(decodeCursor(bad), undefined, bad);
  });
});
