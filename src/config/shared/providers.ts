/**
 * ONNX Runtime execution providers, in Loupe's spelling: the one list that config, model.json
 * variants and the session loader all check against.
 */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'webgpu', 'dml', 'coreml'] as const;

export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

const NAME = `(${EXECUTION_PROVIDERS.join('|')})`;

/** One provider name (model.json variants). */
export const PROVIDER_PATTERN = `^${NAME}$`;

/** A comma-separated, ordered list of providers (LOUPE_EXECUTION_PROVIDERS). */
export const PROVIDER_LIST_PATTERN = `^\\s*${NAME}(\\s*,\\s*${NAME})*\\s*$`;

/** "cuda, webgpu,cpu" → ['cuda', 'webgpu', 'cpu']; the list is already checked by the pattern. */
export function parseProviders(list: string): ExecutionProvider[] {
  const names = list.split(',').map((s) => s.trim().toLowerCase()) as ExecutionProvider[];
  return [...new Set(names)];
}
