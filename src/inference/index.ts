export type {
  InferenceBackend,
  ModelInfo,
  Classification,
  ClassifyRequest,
  Prediction,
  Readiness,
  Timings,
  TensorInfo,
} from './types.ts';
export { LocalBackend, type LocalBackendDeps } from './local/backend.ts';
export { Batcher, type BatcherOptions, type BatchResult, type BatcherState } from './local/batcher.ts';
export { resolveProviders, KNOWN_PROVIDERS } from './local/providers.ts';
export { createSession } from './local/session.ts';
export * from './oip/index.ts';
export { RemoteBackend, type RemoteBackendDeps } from './remote/backend.ts';
