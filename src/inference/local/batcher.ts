import { ErrorCode, LoupeError } from '../../errors.ts';
import type { SpanAttributes, Tracing } from '../../observability/index.ts';
import { traceRun, type TracedItem } from './batch-trace.ts';

export interface BatcherOptions {
  readonly maxBatchSize: number;
  readonly maxQueueDelayMs: number;
  readonly maxQueueSize: number;
  /** Float32 elements of one item (C·H·W). */
  readonly itemSize: number;
  readonly retryAfterS: number;
  /** Runs one batch; returns the output rows, one Float32Array per item. */
  readonly run: (batch: Float32Array, n: number) => Promise<Float32Array[]>;
  /** After each run: its size, the ONNX Runtime time, and what assembling the batch and handing out its rows took. */
  readonly onBatch?: (n: number, inferenceMs: number, times: { inputMs: number; outputMs: number }) => void;
  readonly onQueue?: (depth: number) => void;
  readonly onReject?: () => void;
  /** Each run as a `loupe.batch` span linked to its requests' spans, each wait as `loupe.queue`. */
  readonly tracing?: Tracing | undefined;
  /** On every span of this batcher: model, version, provider. */
  readonly spanAttributes?: SpanAttributes | undefined;
}

export interface BatchResult {
  readonly output: Float32Array;
  readonly queueMs: number;
  readonly inferenceMs: number;
  readonly batchSize: number;
  /** Which run the item went into (runs are numbered from 1), so a request split over runs counts each once. */
  readonly batch: number;
}

/** With the submitter's span (tracing on): the queue wait's parent, a link of its batch (batch-trace.ts). */
interface Item extends TracedItem {
  readonly data: Float32Array;
  readonly resolve: (r: BatchResult) => void;
  readonly reject: (e: unknown) => void;
}

export type BatcherState = 'idle' | 'waiting' | 'running' | 'closed';

/**
 * Triton-style dynamic batcher for one model version. Requests that arrive while a batch
 * runs, or within max_queue_delay_ms of each other, go into one ONNX Runtime call. One batch
 * runs at a time: ONNX Runtime already spreads a call over all intra-op threads, so parallel
 * calls would only fight for the same cores. The queue is bounded; a full queue refuses at
 * once (503 + Retry-After) instead of growing latency and memory without limit.
 */
export class Batcher {
  private readonly opts: BatcherOptions;
  private readonly pending: Item[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Requests admitted but still decoding: they count against the queue bound, and close() waits for them. */
  private admitted = 0;
  /** close() calls waiting for the admitted requests to submit or give up. */
  private readonly admittedWaiters = new Set<() => void>();
  private runs = 0;

  constructor(opts: BatcherOptions) {
    this.opts = opts;
  }

  get state(): BatcherState {
    if (this.closed) return 'closed';
    if (this.running) return 'running';
    return this.pending.length ? 'waiting' : 'idle';
  }

  /** Throws (and counts the refusal) when no queue place is free. */
  checkCapacity(): void {
    if (this.closed) throw this.shuttingDown();
    if (this.pending.length + this.admitted >= this.opts.maxQueueSize) throw this.overloaded();
  }

  /**
   * Reserves a queue place before the expensive part (decoding the upload), so an overloaded
   * model refuses at once instead of decoding images only to drop them. Returns the release,
   * which submit() takes over; call it directly when the request fails before submitting.
   */
  admit(): () => void {
    this.checkCapacity();
    this.admitted++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.admitted--;
        if (this.admitted === 0) for (const wake of this.admittedWaiters) wake();
      }
    };
  }

  /**
   * Queues one item. After close() only a request admitted before it is taken (an unload
   * lets the requests that already resolved the model finish); any other is refused.
   */
  submit(data: Float32Array, admission?: () => void): Promise<BatchResult> {
    if (this.closed && !admission) return Promise.reject(this.shuttingDown());
    const result = this.enqueue(data);
    admission?.(); // after enqueueing, so close() always sees the admission or the item
    return result;
  }

  private enqueue(data: Float32Array): Promise<BatchResult> {
    if (data.length !== this.opts.itemSize) {
      return Promise.reject(
        new LoupeError(
          ErrorCode.InvalidTensor,
          `an item has ${data.length} values; the model takes ${this.opts.itemSize}`,
        ),
      );
    }
    if (this.pending.length >= this.opts.maxQueueSize) return Promise.reject(this.overloaded());
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.push({ data, enqueuedAt: performance.now(), span: this.opts.tracing?.active(), resolve, reject });
      this.opts.onQueue?.(this.pending.length);
      this.schedule();
    });
  }

  /** Resolves once everything admitted or queued so far has run; new work is refused. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.pending.length || this.admitted) {
      if (!this.running && !this.pending.length) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            this.admittedWaiters.delete(wake);
            resolve();
          };
          this.admittedWaiters.add(wake);
        });
        continue;
      }
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private shuttingDown(): LoupeError {
    return new LoupeError(ErrorCode.NotReady, 'the model is shutting down', { retryAfterS: this.opts.retryAfterS });
  }

  /** The refusal of a full queue, counted as it is made. */
  private overloaded(): LoupeError {
    this.opts.onReject?.();
    return new LoupeError(
      ErrorCode.Overloaded,
      `the queue of this model is full (${this.opts.maxQueueSize} waiting); retry shortly`,
      { retryAfterS: this.opts.retryAfterS, refusal: { kind: 'admission', reason: 'queue_full' } },
    );
  }

  private schedule(): void {
    if (this.running) return; // the running batch picks the queue up when it ends
    if (this.pending.length >= this.opts.maxBatchSize || this.opts.maxQueueDelayMs <= 0) {
      this.flush();
      return;
    }
    if (this.timer) return;
    const waited = performance.now() - this.pending[0]!.enqueuedAt;
    this.timer = setTimeout(() => this.flush(), Math.max(0, this.opts.maxQueueDelayMs - waited));
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running || this.pending.length === 0) return;
    const items = this.pending.splice(0, this.opts.maxBatchSize);
    this.opts.onQueue?.(this.pending.length);
    this.running = this.runBatch(items).finally(() => {
      this.running = undefined;
      if (this.pending.length) this.schedule();
    });
  }

  private async runBatch(items: Item[]): Promise<void> {
    const n = items.length;
    const size = this.opts.itemSize;
    const id = ++this.runs;
    const assembling = performance.now();
    const batch = new Float32Array(n * size);
    items.forEach((it, i) => batch.set(it.data, i * size));
    const start = performance.now();
    const span = traceRun(this.opts.tracing, this.opts.spanAttributes, items, assembling);
    let outputs: Float32Array[];
    try {
      outputs = await this.opts.run(batch, n);
    } catch (err) {
      span?.fail(err);
      span?.end();
      for (const it of items) it.reject(err);
      return;
    }
    const end = performance.now();
    span?.end(end);
    items.forEach((it, i) =>
      it.resolve({
        output: outputs[i]!,
        queueMs: assembling - it.enqueuedAt,
        inferenceMs: end - start,
        batchSize: n,
        batch: id,
      }),
    );
    this.opts.onBatch?.(n, end - start, { inputMs: start - assembling, outputMs: performance.now() - end });
  }
}
