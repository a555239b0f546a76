// The inference capability's shared face: the backend interface, OIP and classification. Each
// backend is its own entry, so a role loads only the one it runs: ./local/index.ts (ONNX
// Runtime, libvips) and ./remote/index.ts (model servers over HTTP/gRPC, undici).
export type {
  InferenceBackend,
  ModelInfo,
  Classification,
  ClassifyRequest,
  Prediction,
  Readiness,
  SampleImage,
  Timings,
  TensorInfo,
  VersionStatus,
} from './types.ts';
export {
  ReplicaControlError,
  checkUnloadParameters,
  parseLoadParameters,
  type BatchingOverride,
  type ControlParameters,
  type ControlResult,
  type LoadOptions,
  type ModelControlMode,
  type ReplicaOutcome,
} from './control.ts';
export { NAME_TOO_LONG, resolveTopK, selectVersion, softmax, toPredictions, topIndices } from './classification.ts';
export * from './oip/index.ts';
export { describeModel, oipModelMetadata } from './views.ts';
