import type * as grpc from '@grpc/grpc-js';

/** The parts of grpc-js's BaseServerInterceptingCall (1.14) that bound what one call reads. */
interface ReadLimits {
  maxReceiveMessageSize?: unknown;
  decoder?: { maxReadMessageLength?: unknown };
}

/**
 * Lowers the largest message one call accepts to `bytes`: past it the call is answered
 * RESOURCE_EXHAUSTED from the message's 5-byte length prefix, before its body is buffered, as
 * the server-wide grpc.max_receive_message_length does. grpc-js has no per-method limit, so
 * this sets the two fields its server call checks (the frame decoder's, and the size a
 * compressed message may decompress to); false when this grpc-js has no such fields, which
 * test/e2e/grpc.test.ts catches.
 */
export function capMessage(call: grpc.ServerInterceptingCallInterface, bytes: number): boolean {
  const c = call as unknown as ReadLimits;
  if (typeof c.maxReceiveMessageSize !== 'number' || typeof c.decoder?.maxReadMessageLength !== 'number') return false;
  c.maxReceiveMessageSize = bytes;
  c.decoder.maxReadMessageLength = bytes;
  return true;
}
