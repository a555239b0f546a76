export { GrpcServer, type GrpcDeps, type GrpcOptions } from './server.ts';
export { inferenceService, LOADER_OPTIONS, PROTO_DIR } from './proto.ts';
