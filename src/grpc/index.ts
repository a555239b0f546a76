export { GrpcServer, type GrpcDeps } from './server.ts';
export type { GrpcOptions } from './options.ts';
export { inferenceService, LOADER_OPTIONS, PROTO_DIR } from './proto.ts';
