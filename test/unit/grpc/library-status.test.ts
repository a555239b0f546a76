import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { libraryRefusal } from '../../../src/grpc/library-status.ts';

describe("grpc-js's own refusals, in Loupe's vocabulary", () => {
  it('a message over the limit is PAYLOAD_TOO_LARGE, worded as HTTP words a body over it', () => {
    const e = libraryRefusal({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'Received message larger than max (196641 vs 131072)',
    });
    assert.equal(e?.code, 'PAYLOAD_TOO_LARGE');
    assert.equal(e?.message, 'the request message is 196641 bytes; the limit is 131072');
    const zip = libraryRefusal({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'Received message that decompresses to a size larger than 4096',
    });
    assert.equal(zip?.code, 'PAYLOAD_TOO_LARGE');
  });

  it('any other status is left as it is', () => {
    assert.equal(libraryRefusal({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'something else' }), undefined);
    assert.equal(
      libraryRefusal({ code: grpc.status.UNIMPLEMENTED, details: 'Received message larger than max (2 vs 1)' }),
      undefined,
    );
  });
});
