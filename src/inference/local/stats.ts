import { emptyBatch, emptyStatistics } from '../oip/statistics.ts';
import type { StatisticDuration, TritonBatchStatistics, TritonModelStatistics } from '../oip/triton-types.ts';

/**
 * The time a request spent in each of Loupe's stages, named as Triton names them:
 * compute_input is decoding and preprocessing (images → tensor, or the JSON/binary tensor),
 * queue is waiting in the dynamic batcher, compute_infer the ONNX Runtime run(s) of the
 * batch(es) it went into, compute_output picking the scores and encoding the answer.
 */
export interface RequestTimes {
  readonly totalMs: number;
  readonly inputMs: number;
  readonly queueMs: number;
  readonly inferMs: number;
  readonly outputMs: number;
}

/** What one batched run took: assembling the batch, the ONNX Runtime call, handing out the rows. */
export interface BatchTimes {
  readonly inputMs: number;
  readonly inferMs: number;
  readonly outputMs: number;
}

const ns = (ms: number) => Math.max(0, Math.round(ms * 1e6));
const count = (d: StatisticDuration, ms: number) => {
  d.count++;
  d.ns += ns(ms);
};

/**
 * Triton's per-model-version statistics, collected where inference happens. As in Triton, a
 * request counts once in success/fail and the stage times, whatever its batch size;
 * inference_count counts samples and execution_count batched runs.
 */
export class ModelStats {
  private readonly s: TritonModelStatistics;
  private readonly batches = new Map<number, TritonBatchStatistics>();

  constructor(name: string, version: string) {
    this.s = emptyStatistics(name, version);
  }

  success(t: RequestTimes): void {
    const i = this.s.inference_stats;
    count(i.success, t.totalMs);
    count(i.queue, t.queueMs);
    count(i.compute_input, t.inputMs);
    count(i.compute_infer, t.inferMs);
    count(i.compute_output, t.outputMs);
    this.s.last_inference = Date.now();
  }

  failure(totalMs: number): void {
    count(this.s.inference_stats.fail, totalMs);
    this.s.last_inference = Date.now();
  }

  batch(size: number, t: BatchTimes): void {
    this.s.inference_count += size;
    this.s.execution_count++;
    const b = this.batches.get(size) ?? emptyBatch(size);
    this.batches.set(size, b);
    count(b.compute_input, t.inputMs);
    count(b.compute_infer, t.inferMs);
    count(b.compute_output, t.outputMs);
  }

  /** A copy: callers may serialise it while requests keep counting. */
  snapshot(): TritonModelStatistics {
    const batch_stats = [...this.batches.values()].sort((a, b) => a.batch_size - b.batch_size);
    return structuredClone({ ...this.s, batch_stats });
  }
}
