import type * as grpc from '@grpc/grpc-js';

/** The part of grpc-js's BaseServerInterceptingCall (1.14) that carries a call's bytes. */
interface WithStream {
  stream?: { on?: unknown; listenerCount?: unknown };
}

/**
 * Calls `onBytes` with the size of each HTTP/2 DATA frame of the call as it arrives, before
 * grpc-js has assembled the message: grpc-js hands a handler only whole messages, and a
 * message may be as large as grpc.max_receive_message_length. The listener is added beside
 * grpc-js's own on its http2 stream (which grpc-js keeps paused until the handler reads, so
 * listening does not start the flow). False when this grpc-js has no such field — the call's
 * message is then charged when it arrives whole, and the gRPC share test of
 * test/e2e/fairness.test.ts catches it.
 */
export function onStreamBytes(call: grpc.ServerInterceptingCallInterface, onBytes: (n: number) => void): boolean {
  const stream = (call as unknown as WithStream).stream;
  if (typeof stream?.on !== 'function' || typeof stream.listenerCount !== 'function') return false;
  (stream as NodeJS.EventEmitter).on('data', (chunk: Buffer) => onBytes(chunk.length));
  return true;
}
