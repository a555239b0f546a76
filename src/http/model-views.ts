import type { InferenceBackend, ModelInfo } from '../inference/index.ts';

/**
 * How the APIs show a model version: Loupe's own `/models` and OIP's model metadata. Both
 * list the same versions and tensors, from here.
 */

function versionsOf(backend: InferenceBackend, name: string): string[] {
  return backend
    .listModels()
    .filter((x) => x.name === name)
    .map((x) => x.version);
}

const tensors = (list: ModelInfo['inputs']) => list.map((t) => ({ ...t, shape: [...t.shape] }));

/** `GET /models` (without labels) and `GET /models/{name}` (with them). */
export function describeModel(backend: InferenceBackend, m: ModelInfo, withLabels: boolean) {
  return {
    name: m.name,
    version: m.version,
    versions: versionsOf(backend, m.name),
    format: m.format,
    platform: m.platform,
    provider: m.provider,
    precision: m.precision ?? 'fp32',
    ...(m.description ? { description: m.description } : {}),
    inputs: tensors(m.inputs),
    outputs: tensors(m.outputs),
    labels_count: m.labels.length,
    ...(withLabels ? { labels: [...m.labels] } : {}),
    preprocessing: { ...m.input, mean: [...m.input.mean], std: [...m.input.std] },
    output_kind: m.output_kind,
    batching: m.batching,
  };
}

/** `GET /v2/models/{name}[/versions/{v}]`, as the Open Inference Protocol defines it. */
export function oipModelMetadata(backend: InferenceBackend, m: ModelInfo) {
  return {
    name: m.name,
    versions: versionsOf(backend, m.name),
    platform: m.platform,
    inputs: tensors(m.inputs),
    outputs: tensors(m.outputs),
    parameters: { provider: m.provider, labels: m.labels.length, version: m.version },
  };
}
