import { Counter, type Registry } from 'prom-client';
import { sharedRead } from './scrape-read.ts';

/** A duration as Triton's statistics carry it: how many, and their total in nanoseconds. */
interface Duration {
  readonly count: number;
  readonly ns: number;
}

/** What these metrics read of Triton's per-model-version statistics (ModelStatistics, /v2/models/stats). */
export interface ModelStatisticsView {
  readonly name: string;
  readonly version: string;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: {
    readonly success: Duration;
    readonly fail: Duration;
    readonly queue: Duration;
    readonly compute_input: Duration;
    readonly compute_infer: Duration;
    readonly compute_output: Duration;
  };
}

type Stat = ModelStatisticsView;
/** Triton's metric name, its help, and where its value comes from in the statistics. */
const TRITON: ReadonlyArray<readonly [string, string, (s: Stat) => number]> = [
  [
    'nv_inference_request_success',
    'Number of successful inference requests, all batch sizes',
    (s) => s.inference_stats.success.count,
  ],
  [
    'nv_inference_request_failure',
    'Number of failed inference requests, all batch sizes',
    (s) => s.inference_stats.fail.count,
  ],
  ['nv_inference_count', 'Number of inferences performed (a batch of n counts n)', (s) => s.inference_count],
  ['nv_inference_exec_count', 'Number of model executions performed (batched runs)', (s) => s.execution_count],
  [
    'nv_inference_request_duration_us',
    'Cumulative inference request duration in microseconds',
    (s) => us(s.inference_stats.success),
  ],
  [
    'nv_inference_queue_duration_us',
    'Cumulative inference queuing duration in microseconds',
    (s) => us(s.inference_stats.queue),
  ],
  [
    'nv_inference_compute_input_duration_us',
    'Cumulative compute input duration in microseconds',
    (s) => us(s.inference_stats.compute_input),
  ],
  [
    'nv_inference_compute_infer_duration_us',
    'Cumulative compute inference duration in microseconds',
    (s) => us(s.inference_stats.compute_infer),
  ],
  [
    'nv_inference_compute_output_duration_us',
    'Cumulative inference compute output duration in microseconds',
    (s) => us(s.inference_stats.compute_output),
  ],
];
const us = (d: Duration) => Math.floor(d.ns / 1000);

/**
 * Triton's per-model inference counters under Triton's names and labels (model, version), for
 * the dashboards and alerts written against Triton. They are read at scrape time from the same
 * statistics the statistics API answers with (one read per scrape), so the two always agree
 * and there is no second bookkeeping. Only roles that run models register them: a gateway's
 * statistics are its model servers' summed, which Prometheus scrapes itself.
 */
export function registerTritonMetrics(registry: Registry, statistics: () => Promise<readonly Stat[]>): void {
  // Within one scrape every counter collects at once: one snapshot serves them all.
  const read = sharedRead(statistics, 0);
  for (const [name, help, value] of TRITON) {
    new Counter({
      name,
      help,
      labelNames: ['model', 'version'],
      registers: [registry],
      async collect() {
        const stats = await read();
        if (!stats) return;
        // A version unloaded since the last scrape disappears, as it does in Triton.
        this.reset();
        for (const s of stats) this.inc({ model: s.name, version: s.version }, value(s));
      },
    });
  }
}
