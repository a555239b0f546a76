import { loadConfig } from '../../src/config/index.ts';
import { GrpcServer, type GrpcDeps } from '../../src/grpc/index.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { grpcOptions, roleAdmission } from '../../src/roles/options.ts';
import { grpcClient, type TestGrpcClient } from './grpc.ts';
import { StubBackend } from './stub-backend.ts';

/**
 * The gRPC API (OIP's GRPCInferenceService) over a StubBackend, listening on an ephemeral
 * loopback port, with a client built from the vendored .proto: RPCs, status codes, limits and
 * auth without ONNX Runtime or a database. The gRPC twin of stubApp (test/helpers/app.ts); when
 * GrpcDeps changes shape, only this helper follows.
 */
export async function stubGrpc(
  env: Record<string, string> = {},
  deps: Partial<GrpcDeps> = {},
  opts: { clientLimits?: boolean } = {},
): Promise<{ server: GrpcServer; client: TestGrpcClient; backend: StubBackend; stop(): Promise<void> }> {
  const config = loadConfig({
    LOUPE_LOG_LEVEL: 'silent',
    LOUPE_DEFAULT_MODEL: 'stub',
    LOUPE_GRPC_PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
  const backend = deps.backend instanceof StubBackend ? deps.backend : new StubBackend();
  const server = new GrpcServer({
    options: grpcOptions(config)!,
    logger: createLogger('silent', { pretty: false }),
    metrics: createMetrics(),
    backend,
    version: '0.0.0-test',
    admission: roleAdmission(config, { clientLimits: opts.clientLimits ?? false }),
    ...deps,
  });
  await server.start();
  const client = grpcClient(server.address);
  return {
    server,
    client,
    backend,
    async stop() {
      client.close();
      await server.stop();
    },
  };
}
