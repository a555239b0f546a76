export { GrpcServer, type GrpcDeps } from './server.ts';
export { inferenceService, LOADER_OPTIONS, PROTO_DIR } from './proto.ts';
