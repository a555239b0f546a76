// In-process ONNX Runtime, its own entry point: importing it maps ONNX Runtime and libvips,
// which the roles without local inference (gateway, worker) never load.
export { LocalBackend, type LocalBackendDeps, type LocalBackendOptions } from './backend.ts';
export { Batcher, type BatcherOptions, type BatchResult, type BatcherState } from './batcher.ts';
export { createSession, type LoadedSession, type SessionOptions } from './session.ts';
export { optimizeInChild, type OptimizedGraph } from './optimize.ts';
export { validateModels, type ValidateReport } from './validate.ts';
