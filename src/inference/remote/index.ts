// The remote backend's public face: model servers over the Open Inference Protocol.
export { RemoteBackend, type RemoteBackendDeps, type RemoteBackendOptions } from './backend.ts';
