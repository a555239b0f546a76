// The inference capability's shared face: the backend interface, OIP and classification, and
// the remote backend. The local backend (ONNX Runtime) is its own entry: ./local/index.ts.
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
export { resolveTopK, selectVersion, softmax, toPredictions, topIndices } from './classification.ts';
export * from './oip/index.ts';
export { RemoteBackend, type RemoteBackendDeps } from './remote/backend.ts';
