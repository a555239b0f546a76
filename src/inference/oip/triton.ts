import type { InferenceBackend, ModelInfo } from '../types.ts';
import type { RepositoryIndexEntry, TritonInstanceGroup, TritonModelConfig } from './triton-types.ts';

export type * from './triton-types.ts';

/** ONNX Runtime's execution provider → where Triton would say the instance runs. */
function instanceKind(provider: string): TritonInstanceGroup['kind'] {
  if (provider === 'cpu') return 'KIND_CPU';
  if (provider === 'cuda' || provider === 'tensorrt') return 'KIND_GPU';
  return 'KIND_MODEL'; // DirectML, WebGPU, CoreML: the runtime picks the device
}

/**
 * A model version as Triton's `GET /v2/models/{m}/config` describes it. Loupe serves every
 * version in the store (version_policy `all`), one session per version (one instance), with
 * its dynamic batcher; inputs are NCHW float images, outputs one score per label.
 */
export function tritonModelConfig(m: ModelInfo): TritonModelConfig {
  const batched = m.batching.max_batch_size > 0;
  const dims = (shape: readonly number[]) => (batched ? shape.slice(1) : [...shape]);
  const kind = instanceKind(m.provider);
  return {
    name: m.name,
    platform: m.platform,
    backend: 'onnxruntime',
    runtime: '',
    version_policy: { all: {} },
    max_batch_size: m.batching.max_batch_size,
    input: m.inputs.map((t) => ({
      name: t.name,
      data_type: 'TYPE_FP32',
      format: 'FORMAT_NCHW',
      dims: dims(t.shape),
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
      is_non_linear_format_io: false,
    })),
    output: m.outputs.map((t) => ({
      name: t.name,
      data_type: 'TYPE_FP32',
      dims: dims(t.shape),
      label_filename: 'labels.txt',
      is_shape_tensor: false,
      is_non_linear_format_io: false,
    })),
    batch_input: [],
    batch_output: [],
    dynamic_batching: {
      preferred_batch_size: [],
      max_queue_delay_microseconds: Math.round(m.batching.max_queue_delay_ms * 1000),
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
      default_queue_policy: {
        timeout_action: 'REJECT',
        default_timeout_microseconds: 0,
        allow_timeout_override: false,
        max_queue_size: m.batching.max_queue_size,
      },
      priority_queue_policy: {},
    },
    instance_group: [
      {
        name: m.name,
        kind,
        count: 1,
        gpus: kind === 'KIND_GPU' ? [0] : [],
        secondary_devices: [],
        profile: [],
        passive: false,
        host_policy: '',
      },
    ],
    default_model_filename: 'model.onnx',
    cc_model_filenames: {},
    metric_tags: {},
    parameters: {},
    model_warmup: [],
  };
}

/**
 * `POST /v2/repository/index`: every served version READY, every store entry that could not
 * be loaded UNAVAILABLE with its reason, and under model control the versions loading,
 * unloading or unloaded; `readyOnly` keeps the READY ones. Sorted by name, then version.
 */
export function repositoryIndex(backend: InferenceBackend, readyOnly: boolean): RepositoryIndexEntry[] {
  const ready: RepositoryIndexEntry[] = backend
    .listModels()
    .map((m) => ({ name: m.name, version: m.version, state: 'READY' }));
  const readiness = readyOnly ? undefined : backend.readiness();
  const problems: RepositoryIndexEntry[] = (readiness?.problems ?? []).map((p) => ({
    name: p.name,
    ...(p.version !== undefined ? { version: p.version } : {}),
    state: 'UNAVAILABLE',
    reason: p.error,
  }));
  const others: RepositoryIndexEntry[] = (readiness?.states ?? []).map((s) => ({ ...s }));
  const rank = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : -1);
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...ready, ...problems, ...others].sort(
    (a, b) => order(a.name, b.name) || rank(a.version) - rank(b.version) || order(a.version ?? '', b.version ?? ''),
  );
}
