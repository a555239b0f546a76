import type {
  StatisticDuration,
  TritonBatchStatistics,
  TritonInferStatistics,
  TritonModelStatistics,
} from './triton-types.ts';

const STAGES = [
  'success',
  'fail',
  'queue',
  'compute_input',
  'compute_infer',
  'compute_output',
  'cache_hit',
  'cache_miss',
] as const satisfies ReadonlyArray<keyof TritonInferStatistics>;

const BATCH_STAGES = ['compute_input', 'compute_infer', 'compute_output'] as const;

const zero = (): StatisticDuration => ({ count: 0, ns: 0 });
const add = (a: StatisticDuration, b: StatisticDuration | undefined): StatisticDuration => ({
  count: a.count + (b?.count ?? 0),
  ns: a.ns + (b?.ns ?? 0),
});

/** A model version nothing has run on yet. */
export function emptyStatistics(name: string, version: string): TritonModelStatistics {
  return {
    name,
    version,
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: Object.fromEntries(STAGES.map((s) => [s, zero()])) as unknown as TritonInferStatistics,
    batch_stats: [],
    memory_usage: [],
    response_stats: {},
  };
}

export const emptyBatch = (batchSize: number): TritonBatchStatistics => ({
  batch_size: batchSize,
  compute_input: zero(),
  compute_infer: zero(),
  compute_output: zero(),
});

/**
 * The statistics of one model service from its replicas' (a gateway's view): counts and times
 * add up per model version and batch size, the last inference is the latest of any replica.
 * Entries are sorted by name, then version.
 */
export function sumStatistics(parts: ReadonlyArray<ReadonlyArray<TritonModelStatistics>>): TritonModelStatistics[] {
  const byKey = new Map<string, TritonModelStatistics>();
  for (const s of parts.flat()) {
    const key = `${s.name}\u0000${s.version}`;
    const into = byKey.get(key) ?? emptyStatistics(s.name, s.version);
    byKey.set(key, merge(into, s));
  }
  return [...byKey.values()].sort(
    (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || Number(a.version) - Number(b.version),
  );
}

function merge(a: TritonModelStatistics, b: TritonModelStatistics): TritonModelStatistics {
  const inference_stats = Object.fromEntries(
    STAGES.map((s) => [s, add(a.inference_stats[s], b.inference_stats?.[s])]),
  ) as unknown as TritonInferStatistics;
  const batches = new Map(a.batch_stats.map((x) => [x.batch_size, x]));
  for (const x of b.batch_stats ?? []) {
    const into = batches.get(x.batch_size) ?? emptyBatch(x.batch_size);
    batches.set(x.batch_size, {
      batch_size: x.batch_size,
      ...(Object.fromEntries(BATCH_STAGES.map((s) => [s, add(into[s], x[s])])) as Omit<
        TritonBatchStatistics,
        'batch_size'
      >),
    });
  }
  return {
    ...a,
    last_inference: Math.max(a.last_inference, b.last_inference ?? 0),
    inference_count: a.inference_count + (b.inference_count ?? 0),
    execution_count: a.execution_count + (b.execution_count ?? 0),
    inference_stats,
    batch_stats: [...batches.values()].sort((x, y) => x.batch_size - y.batch_size),
  };
}
