import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { endCallSpan, startCallSpan } from '../../../src/grpc/call-span.ts';
import { unsupportedReason } from '../../../src/grpc/rpcs.ts';
import { NOOP_TRACING } from '../../../src/observability/index.ts';
import { recordingTracing as recorder } from '../../helpers/tracing.ts';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('gRPC call spans', () => {
  it('a server span per call with the rpc.* attributes; failed only for a server-side status', () => {
    for (const [code, failed] of [
      [grpc.status.OK, false],
      [grpc.status.NOT_FOUND, false],
      [grpc.status.RESOURCE_EXHAUSTED, false],
      [grpc.status.INTERNAL, true],
      [grpc.status.UNAVAILABLE, true],
    ] as const) {
      const { tracing, log } = recorder();
      const span = startCallSpan(tracing, 'ModelInfer', 'req-1', { traceparent: TRACEPARENT });
      endCallSpan(span, undefined, code, undefined);
      assert.equal(log[0]!.name, 'inference.GRPCInferenceService/ModelInfer');
      assert.equal(log[0]!.kind, 'server');
      assert.equal(log[0]!.attrs['rpc.method'], 'ModelInfer');
      assert.equal(log[0]!.attrs['loupe.request_id'], 'req-1');
      assert.equal(log[0]!.attrs['rpc.grpc.status_code'], code);
      assert.equal(log[0]!.failed, failed, `status ${code}`);
      assert.ok(log[0]!.ended);
    }
  });

  it('off, the call only names the trace its metadata came with', () => {
    assert.equal(
      startCallSpan(NOOP_TRACING, 'ModelInfer', 'r', { traceparent: TRACEPARENT }).traceId,
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    assert.equal(startCallSpan(NOOP_TRACING, 'ModelInfer', 'r', {}).traceId, '');
  });

  it('TraceSetting stays unimplemented and says where tracing is configured', () => {
    assert.match(unsupportedReason('TraceSetting'), /OTEL_\* variables .*OTEL_TRACES_EXPORTER=otlp/);
  });
});
