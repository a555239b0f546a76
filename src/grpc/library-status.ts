import * as grpc from '@grpc/grpc-js';
import { ErrorCode, LoupeError } from '../errors.ts';

/** A status as grpc-js's sendStatus takes it (its type is not exported). */
export type PartialStatus = Parameters<grpc.ServerInterceptingCall['sendStatus']>[0];

/**
 * grpc-js refuses a message over the call's limit itself (grpc-js 1.14: server-interceptors.js,
 * stream-decoder.js), in its own words, with no Loupe code and no request id; HTTP answers the
 * same refusal PAYLOAD_TOO_LARGE. Its refusals, as the LoupeError HTTP would have sent.
 */
const REFUSALS: ReadonlyArray<readonly [RegExp, (m: RegExpExecArray) => LoupeError]> = [
  [
    /^Received message larger than max \((\d+) vs (\d+)\)$/,
    (m) => new LoupeError(ErrorCode.PayloadTooLarge, `the request message is ${m[1]} bytes; the limit is ${m[2]}`),
  ],
  [
    /^Received message that decompresses to a size larger than (\d+)$/,
    (m) =>
      new LoupeError(ErrorCode.PayloadTooLarge, `the decompressed request message is over the limit of ${m[1]} bytes`),
  ],
];

/** The LoupeError a status grpc-js sent on its own stands for, else undefined. */
export function libraryRefusal(status: PartialStatus): LoupeError | undefined {
  if (status.code !== grpc.status.RESOURCE_EXHAUSTED) return undefined;
  for (const [re, make] of REFUSALS) {
    const m = re.exec(status.details ?? '');
    if (m) return make(m);
  }
  return undefined;
}

/** The part of grpc-js's BaseServerInterceptingCall (1.14) that answers a call. */
interface Answers {
  sendStatus?: unknown;
}

/**
 * Routes the statuses grpc-js sends by itself on `call` (a message over the limit, found while
 * decoding, before any interceptor hears of it) through `adopt`, so such a call is answered,
 * logged and counted as every other: without this it ends with grpc-js's text and no request
 * id, and the edge only hears of it as a cancellation. False when this grpc-js has no such
 * method; test/e2e/transport-parity.test.ts catches it.
 */
export function onLibraryStatus(
  call: grpc.ServerInterceptingCallInterface,
  adopt: (status: PartialStatus) => PartialStatus,
): boolean {
  const c = call as unknown as Answers;
  if (typeof c.sendStatus !== 'function') return false;
  const own = (c.sendStatus as (s: PartialStatus) => void).bind(call);
  c.sendStatus = (status: PartialStatus) => own(adopt(status));
  return true;
}
