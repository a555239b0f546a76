import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ErrorCode, LoupeError, grpcStatusOf, httpStatusOf } from '../../../src/errors.ts';
import { codeName, statusOf, toLoupeError } from '../../../src/grpc/status.ts';

describe('gRPC status from Loupe errors', () => {
  it('every error code has a gRPC status, in the same spirit as its HTTP one', () => {
    for (const code of Object.values(ErrorCode)) {
      const g = grpcStatusOf[code];
      assert.ok(Number.isInteger(g) && g > 0 && g <= 16, code);
      const http = httpStatusOf[code];
      // A load/unload the server's mode forbids: 400 as Triton answers it, FAILED_PRECONDITION on gRPC.
      if (code === ErrorCode.ModelControlDisabled) assert.equal(g, grpc.status.FAILED_PRECONDITION, code);
      else if (http === 400 || http === 422 || http === 415) assert.equal(g, grpc.status.INVALID_ARGUMENT, code);
      if (http === 404) assert.equal(g, grpc.status.NOT_FOUND, code);
      if (http === 503) assert.equal(g, grpc.status.UNAVAILABLE, code);
    }
    assert.equal(grpcStatusOf.UNAUTHORIZED, grpc.status.UNAUTHENTICATED);
    assert.equal(grpcStatusOf.FORBIDDEN, grpc.status.PERMISSION_DENIED);
    assert.equal(grpcStatusOf.RATE_LIMITED, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatusOf.PAYLOAD_TOO_LARGE, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(grpcStatusOf.INTERNAL, grpc.status.INTERNAL);
  });

  it('details carry the message and request id; trailers the code and the retry hint', () => {
    const s = statusOf(new LoupeError(ErrorCode.Overloaded, 'queue full', { retryAfterS: 2 }), 'req-9');
    assert.equal(s.code, grpc.status.UNAVAILABLE);
    assert.equal(s.details, 'queue full (request id req-9)');
    assert.deepEqual(s.metadata.getMap(), {
      'x-loupe-error-code': 'OVERLOADED',
      'retry-after': '2',
      'grpc-retry-pushback-ms': '2000',
    });
    assert.equal(codeName(s.code), 'UNAVAILABLE');
  });

  it('a bug is INTERNAL with its details masked', () => {
    const e = toLoupeError(new TypeError('secret path /etc/x'));
    assert.equal(e.code, 'INTERNAL');
    const s = statusOf(e, 'r');
    assert.equal(s.code, grpc.status.INTERNAL);
    assert.equal(s.details, 'internal error (request id r)');
    const masked = statusOf(new LoupeError(ErrorCode.Internal, 'a model server sent garbage'), 'r');
    assert.equal(masked.details, 'internal error (request id r)');
  });
});
