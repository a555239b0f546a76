import { ErrorCode, LoupeError } from '../errors.ts';

/** What the role fills from LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S and LOUPE_UPLOAD_RATE_GRACE_MS. */
export interface RateFloorOptions {
  /** The floor, in bytes per second; 0: no floor. */
  readonly minBytesPerS: number;
  /** Time every upload has before the floor applies; 0 together with a floor of 0 disables it. */
  readonly graceMs: number;
}

/**
 * The minimum data rate of an upload (a request body, a gRPC message), as Apache's
 * mod_reqtimeout `body=<grace>,MinRate=<rate>`: an upload has `grace` ms, plus one second for
 * every `rate` bytes it has sent. Without it a client sending a byte every few seconds holds
 * its connection, its in-flight place and what it has sent for the whole request timeout; with
 * it the slow upload is cut (408 / DEADLINE_EXCEEDED) and what it held is given back at once.
 * Averaging over the whole upload (rather than nginx's gap between two reads) lets an honest
 * client's stall be made up by the bytes it sent before, and does not let a dribbler last by
 * sending a byte just before each gap would end.
 */
export class RateFloor {
  readonly minBytesPerS: number;
  readonly graceMs: number;

  constructor(opts: RateFloorOptions) {
    this.minBytesPerS = opts.minBytesPerS;
    this.graceMs = opts.graceMs;
  }

  get enabled(): boolean {
    return this.minBytesPerS > 0;
  }

  /** Starts watching an upload; `onSlow` is called once, with the 408 error, if it falls below the floor. */
  watch(onSlow: (err: LoupeError) => void): RateWatch {
    return new RateWatch(this, onSlow);
  }
}

export class RateWatch {
  private readonly floor: RateFloor;
  private readonly onSlow: (err: LoupeError) => void;
  private readonly started = Date.now();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(floor: RateFloor, onSlow: (err: LoupeError) => void) {
    this.floor = floor;
    this.onSlow = onSlow;
    if (floor.enabled) this.arm();
  }

  /** Counts bytes received. The deadline only moves later, so the timer is moved lazily, when it fires. */
  arrived(bytes: number): void {
    this.bytes += bytes;
  }

  /** The upload is complete (or ended): no more checks. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private deadline(): number {
    return this.started + this.floor.graceMs + (this.bytes * 1000) / this.floor.minBytesPerS;
  }

  private arm(): void {
    this.timer = setTimeout(() => this.check(), Math.max(1, this.deadline() - Date.now()));
    this.timer.unref();
  }

  private check(): void {
    if (this.timer === undefined) return;
    if (Date.now() < this.deadline()) return this.arm();
    this.timer = undefined;
    const { minBytesPerS, graceMs } = this.floor;
    const s = ((Date.now() - this.started) / 1000).toFixed(1);
    this.onSlow(
      new LoupeError(
        ErrorCode.RequestTimeout,
        `the upload is too slow: ${this.bytes} bytes in ${s} s; after ${graceMs} ms at least ${minBytesPerS} bytes/s are needed`,
        { refusal: { kind: 'admission', reason: 'rate_floor' } },
      ),
    );
  }
}
