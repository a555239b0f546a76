import type http2 from 'node:http2';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_DIR } from '../../src/grpc/index.ts';

/** Which vendored file a test client is built from: Triton's (tritonclient's) or KServe's. */
export type ProtoFlavor = 'triton' | 'kserve';

const FILES: Record<ProtoFlavor, string> = {
  triton: path.join(PROTO_DIR, 'triton', 'grpc_service.proto'),
  kserve: path.join(PROTO_DIR, 'kserve', 'grpc_predict_v2.proto'),
};

export interface CallResult<T> {
  readonly response?: T;
  readonly error?: grpc.ServiceError;
  /** Initial metadata (headers) the server sent, if any. */
  readonly headers?: grpc.Metadata;
  /** Trailing metadata. */
  readonly trailers?: grpc.Metadata;
}

export interface TestGrpcClient {
  /** Calls a unary RPC; resolves with its response or its error, and the metadata both ways. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call<T = any>(method: string, request: object, metadata?: Record<string, string>): Promise<CallResult<T>>;
  /** Opens a bidirectional stream (ModelStreamInfer): write requests, read responses as they come. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stream<Req = any, Res = any>(
    method: string,
    metadata?: Record<string, string>,
    options?: grpc.CallOptions,
  ): grpc.ClientDuplexStream<Req, Res>;
  close(): void;
}

/**
 * A client of `inference.GRPCInferenceService` built with @grpc/grpc-js from one of the
 * vendored .proto files (the server's own, or KServe's), as a user would build one.
 */
export function grpcClient(address: string, flavor: ProtoFlavor = 'triton', options: grpc.ChannelOptions = {}) {
  const definition = loader.loadSync(FILES[flavor], {
    ...LOADER_OPTIONS,
    includeDirs: [path.dirname(FILES[flavor])],
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const client = new pkg.inference.GRPCInferenceService(address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    ...options,
  });
  const api: TestGrpcClient = {
    call: (method, request, metadata = {}) =>
      new Promise((resolve) => {
        const md = new grpc.Metadata();
        for (const [k, v] of Object.entries(metadata)) md.set(k, v);
        let headers: grpc.Metadata | undefined;
        let trailers: grpc.Metadata | undefined;
        let result: { response?: unknown; error?: grpc.ServiceError } | undefined;
        const fn = client[method] as (
          req: object,
          md: grpc.Metadata,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res: unknown) => void,
        ) => grpc.ClientUnaryCall;
        if (typeof fn !== 'function') throw new Error(`${flavor} proto has no method ${method}`);
        const done = () => result && trailers && resolve({ ...result, headers, trailers } as CallResult<never>);
        const call = fn.call(client, request, md, { deadline: Date.now() + 60_000 }, (err, res) => {
          result = err ? { error: err } : { response: res };
          if (err) trailers = err.metadata;
          done();
        });
        call.on('metadata', (m: grpc.Metadata) => (headers = m));
        call.on('status', (s: grpc.StatusObject) => {
          trailers = s.metadata;
          done();
        });
      }),
    stream: <Req, Res>(method: string, metadata: Record<string, string> = {}, options: grpc.CallOptions = {}) => {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      const fn = client[method] as (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<Req, Res>;
      if (typeof fn !== 'function') throw new Error(`${flavor} proto has no method ${method}`);
      return fn.call(client, md, { deadline: Date.now() + 60_000, ...options });
    },
    close: () => client.close(),
  };
  return api;
}

/**
 * A gRPC call sent by hand on an HTTP/2 session: its headers, with the request stream left open
 * and its errors ignored. For tests that choose every byte and when it is sent — grpc-js's own
 * client frames whole messages, half-closes when it likes and reads every answer into memory.
 */
export function rawGrpcCall(
  session: http2.ClientHttp2Session,
  method: string,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  const stream = session.request(
    {
      ':method': 'POST',
      ':path': `/inference.GRPCInferenceService/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    },
    { endStream: false },
  );
  stream.on('error', () => undefined);
  return stream;
}
