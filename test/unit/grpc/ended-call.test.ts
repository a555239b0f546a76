import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createAdmission } from '../../../src/admission/index.ts';
import type { EdgeDeps } from '../../../src/grpc/edge.ts';
import { edgeInterceptor } from '../../../src/grpc/interceptor.ts';
import { MESSAGE_BYTES } from '../../../src/grpc/proto.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';

type Listener = Parameters<grpc.ServerInterceptingCallInterface['start']>[0];
type Status = Parameters<grpc.ServerInterceptingCallInterface['sendStatus']>[0];

/**
 * The call grpc-js hands the interceptor, as far as the edge uses it: what it sends is kept,
 * and a test delivers DATA frames and messages when it chooses — here, a message decoded from
 * the frame the edge ended the call on, which grpc-js 1.14 still delivers once the call's
 * headers went out (its cancel notice then waits for the trailers).
 */
class FakeCall {
  readonly stream = new EventEmitter();
  readonly statuses: Status[] = [];
  listener: Listener | undefined;
  start(listener: Listener) {
    this.listener = listener;
  }
  sendMetadata() {}
  sendMessage(_message: unknown, callback: () => void) {
    callback();
  }
  sendStatus(status: Status) {
    this.statuses.push(status);
  }
  startRead() {}
  getPeer() {
    return '127.0.0.1:1';
  }
  getDeadline() {
    return Infinity;
  }
  getHost() {
    return 'localhost';
  }
  getConnectionInfo() {
    return { remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2 };
  }
}

describe('the gRPC edge and a call it has ended', () => {
  it('a unary message that arrives after the edge ended its call is not handed to the handler', async () => {
    const admission = createAdmission({
      budget: { maxBytes: 0, perClientBytes: 100, retryAfterS: 1 },
      rateFloor: { minBytesPerS: 0, graceMs: 0 },
      clientLimits: { perMinute: 0, maxInFlight: 4, retryAfterS: 1 },
    });
    const deps: EdgeDeps = {
      logger: createLogger('silent', { pretty: false }),
      metrics: createMetrics(),
      keys: undefined,
      admission,
      requestTimeoutMs: 0,
      addressOf: (peer) => peer,
    };
    const fake = new FakeCall();
    const descriptor = { path: '/inference.GRPCInferenceService/ModelInfer' } as grpc.ServerMethodDefinition<
      unknown,
      unknown
    >;
    const call = edgeInterceptor(deps, new WeakMap())(
      descriptor,
      fake as unknown as grpc.ServerInterceptingCallInterface,
    );
    const handed: unknown[] = [];
    call.start({
      onReceiveMetadata: () => call.startRead(),
      onReceiveMessage: (message) => handed.push(message),
      onReceiveHalfClose: () => undefined,
      onCancel: () => undefined,
    });
    fake.listener!.onReceiveMetadata(new grpc.Metadata());
    await sleep(20); // admitted (no keys: at once)
    assert.equal(admission.clientLimits!.inFlightOf('ip:127.0.0.1'), 1);
    // Another upload of the client holds its whole share: the frame is refused, the call ended.
    const other = admission.budget.open('ip:127.0.0.1');
    assert.equal(other.growTo(100), undefined);
    fake.stream.emit('data', Buffer.alloc(60));
    assert.equal(fake.statuses.length, 1);
    assert.equal(fake.statuses[0]!.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(admission.clientLimits!.inFlightOf('ip:127.0.0.1'), 0, 'its place given back');
    // grpc-js then hands on the message that frame completed.
    fake.listener!.onReceiveMessage({ [MESSAGE_BYTES]: 55 });
    assert.deepEqual(handed, [], 'the ended call’s message never reaches the handler');
    other.release();
  });
});
