import type { RateFloor, RateWatch } from '../admission/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';

/** How long a message that uploads nothing (a name or two) may take: a client sends it with the call's headers. */
const SMALL_MESSAGE_MS = 5000;

/**
 * How long a message may take to arrive whole (0: no limit): an upload LOUPE_REQUEST_TIMEOUT_MS
 * (it holds its share of the upload budget meanwhile), any other SMALL_MESSAGE_MS, or the
 * request timeout when that is shorter.
 */
export function messageDeadlineMs(upload: boolean, requestTimeoutMs: number): number {
  if (upload) return requestTimeoutMs;
  return requestTimeoutMs > 0 ? Math.min(requestTimeoutMs, SMALL_MESSAGE_MS) : SMALL_MESSAGE_MS;
}

/**
 * The clocks of one message on its way in, as HTTP times a request body: it must be whole
 * within a deadline and, when it is an upload, arrive above the upload rate floor
 * (LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S). A unary call's message (CallEdge) and each message of a
 * stream (StreamEdge) are timed by one; whoever holds it says what failing means (the call's
 * status, or the stream's end).
 */
export class MessageClock {
  private readonly rateFloor: RateFloor;
  private watch: RateWatch | undefined;
  private late: NodeJS.Timeout | undefined;

  constructor(rateFloor: RateFloor) {
    this.rateFloor = rateFloor;
  }

  /** Whether a clock runs (until `stop`, even once it has fired). */
  get running(): boolean {
    return this.watch !== undefined || this.late !== undefined;
  }

  /** `onLate` gets a REQUEST_TIMEOUT error naming `what` unless the message is whole within `ms` (0: no limit). */
  within(ms: number, what: string, onLate: (err: LoupeError) => void): void {
    if (ms <= 0) return;
    clearTimeout(this.late);
    const error = new LoupeError(ErrorCode.RequestTimeout, `${what} did not arrive within ${ms} ms`);
    this.late = setTimeout(() => onLate(error), ms);
    this.late.unref();
  }

  /** `onSlow` gets the floor's error if the message's bytes arrive below the upload rate floor. */
  aboveFloor(onSlow: (err: LoupeError) => void): void {
    this.watch?.stop();
    this.watch = this.rateFloor.watch(onSlow);
  }

  /** Bytes of the message off the wire, for the rate floor. */
  arrived(bytes: number): void {
    this.watch?.arrived(bytes);
  }

  /** The message is whole (or will not be read on): both clocks stop. */
  stop(): void {
    this.watch?.stop();
    this.watch = undefined;
    clearTimeout(this.late);
    this.late = undefined;
  }
}
