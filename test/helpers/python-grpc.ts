import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PROTO_DIR } from '../../src/grpc/index.ts';

// The Python gRPC client tests (test/clients/*.py) run what tritonclient.grpc sends, from
// Debian's python3 with python3-grpcio and python3-grpc-tools (a pyenv python3 on PATH may have
// neither), with stubs generated at test time from the vendored Triton protos.
export const PYTHON = '/usr/bin/python3';
export const CLIENTS = path.resolve(import.meta.dirname, '..', 'clients');

export const hasGrpcio = spawnSync(PYTHON, ['-c', 'import grpc, grpc_tools, numpy'], { stdio: 'ignore' }).status === 0;

// CI installs both packages and sets LOUPE_REQUIRE_GRPCIO=1: there a missing grpcio fails the
// run instead of skipping the tests; on a newcomer's machine without them they skip, saying why.
if (process.env.LOUPE_REQUIRE_GRPCIO === '1' && !hasGrpcio)
  throw new Error('LOUPE_REQUIRE_GRPCIO=1 but /usr/bin/python3 cannot import grpc, grpc_tools and numpy');

/** The `skip` option of a describe() that needs grpcio: false, or the reason it is skipped. */
export const skipWithoutGrpcio = !hasGrpcio && 'no /usr/bin/python3 with grpc (python3-grpcio), grpc_tools and numpy';

/** Writes grpc_service_pb2(_grpc).py and model_config_pb2.py into `dir` (grpc_tools' bundled protoc). */
export function writeTritonStubs(dir: string): void {
  const triton = path.join(PROTO_DIR, 'triton');
  const protoc = spawnSync(
    PYTHON,
    ['-m', 'grpc_tools.protoc', `-I${triton}`, `--python_out=${dir}`, `--grpc_python_out=${dir}`].concat(
      ['grpc_service.proto', 'model_config.proto'].map((f) => path.join(triton, f)),
    ),
    { encoding: 'utf8' },
  );
  if (protoc.status !== 0) throw new Error(`grpc_tools.protoc failed: ${protoc.stderr}`);
}
