import path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { wireProblem } from './wire-check.ts';

/** The vendored protocol definitions (proto/README.md), next to src/ and dist/ alike. */
export const PROTO_DIR = path.resolve(import.meta.dirname, '..', '..', 'proto');

/**
 * Field names as the .proto spells them (snake_case, like Triton's JSON), 64-bit integers as
 * numbers (shapes, counters), enums by name, oneofs with their case, absent repeated and map
 * fields as empty ones.
 */
export const LOADER_OPTIONS: loader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  oneofs: true,
  arrays: true,
  objects: true,
};

/** The byte size a request message had on the wire (after decompression), set when it is decoded. */
export const MESSAGE_BYTES = Symbol('loupe.grpc.messageBytes');

/**
 * Set instead of the fields when the bytes are not a valid message: the edge answers
 * INVALID_ARGUMENT, as HTTP answers a malformed body 400. A decoder that threw would make
 * grpc-js answer INTERNAL itself, past the edge (logged as a cancelled call).
 */
export const MALFORMED = Symbol('loupe.grpc.malformed');

/**
 * Triton's `inference.GRPCInferenceService` from the vendored grpc_service.proto: every
 * method, so a Triton client finds each one it may call. Each request decoder notes the
 * message's size, which the edge holds from the upload budget while the call runs.
 */
export function inferenceService(): grpc.ServiceDefinition {
  const definition = loader.loadSync(path.join(PROTO_DIR, 'triton', 'grpc_service.proto'), {
    ...LOADER_OPTIONS,
    includeDirs: [path.join(PROTO_DIR, 'triton')],
  });
  const service = definition['inference.GRPCInferenceService'] as grpc.ServiceDefinition;
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          let message: object;
          const malformed = (why: string) => ({
            [MALFORMED]: `the request is not a valid ${name}Request message (${why.slice(0, 120)})`,
          });
          const problem = wireProblem(bytes);
          if (problem !== undefined) message = malformed(problem);
          else
            try {
              message = method.requestDeserialize(bytes) as object;
            } catch (err) {
              message = malformed(err instanceof Error ? err.message : String(err));
            }
          Object.defineProperty(message, MESSAGE_BYTES, { value: bytes.length });
          return message;
        },
      },
    ]),
  );
}
