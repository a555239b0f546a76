import type { InferenceBackend, ModelInfo } from './types.ts';

/**
 * How the APIs show a model version: Loupe's own `/models` and OIP's model metadata. Both
 * list the same versions and tensors, from here, whichever transport asks (HTTP and gRPC alike).
 */

function versionsOf(backend: InferenceBackend, name: string): string[] {
  return backend
    .listModels()
    .filter((x) => x.name === name)
    .map((x) => x.version);
}

const tensors = (list: ModelInfo['inputs']) => list.map((t) => ({ ...t, shape: [...t.shape] }));

const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };

/** A model card as the API shows it: the samples as URLs on this server. */
function cardView(m: ModelInfo) {
  const card = m.card;
  if (!card) return undefined;
  const name = encodeURIComponent(m.name);
  return {
    ...(card.trained_on ? { trained_on: card.trained_on } : {}),
    ...(card.intended_use ? { intended_use: card.intended_use } : {}),
    ...(card.accuracy ? { accuracy: defined(card.accuracy) } : {}),
    samples: card.samples.map((file) => ({
      name: file,
      url: `/models/${name}/samples/${encodeURIComponent(file)}?version=${m.version}`,
    })),
  };
}

/** `GET /models` and `GET /models/{name}`: the same description, labels and card included. */
export function describeModel(backend: InferenceBackend, m: ModelInfo, defaultModel: string) {
  const card = cardView(m);
  return {
    name: m.name,
    default: m.name === defaultModel,
    version: m.version,
    versions: versionsOf(backend, m.name),
    format: m.format,
    platform: m.platform,
    provider: m.provider,
    ...(m.description ? { description: m.description } : {}),
    inputs: tensors(m.inputs),
    outputs: tensors(m.outputs),
    labels_count: m.labels.length,
    labels: [...m.labels],
    ...(card ? { card } : {}),
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
