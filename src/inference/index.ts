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
export { resolveTopK, selectVersion, softmax, toPredictions, topIndices } from './classification.ts';
export * from './oip/index.ts';
export { createSession } from './local/session.ts';
export { RemoteBackend, type RemoteBackendDeps } from './remote/backend.ts';
