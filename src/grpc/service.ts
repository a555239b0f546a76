import type * as grpc from '@grpc/grpc-js';
import { ErrorCode, LoupeError } from '../errors.ts';
import {
  OIP_EXTENSIONS,
  oipModelMetadata,
  repositoryIndex,
  tritonModelConfig,
  type InferenceBackend,
  type ModelInfo,
} from '../inference/index.ts';
import type { LogContext } from '../observability/index.ts';
import type { CallEdge } from './edge.ts';
import type { ModelInferRequest, ModelRequest, RepositoryIndexRequest, RepositoryModelRequest } from './messages.ts';
import { streamInfer } from './stream-infer.ts';
import { toInferResponse, toOipRequest } from './tensors.ts';

export interface ServiceDeps {
  readonly backend: InferenceBackend;
  readonly version: string;
  /** The edge of each admitted call, by its metadata (set by the edge interceptor). */
  readonly calls: WeakMap<grpc.Metadata, CallEdge>;
}

type Handler<Req> = (req: Req, edge: CallEdge) => unknown;

/**
 * The RPCs of `inference.GRPCInferenceService` that Loupe serves, over the role's inference
 * backend — the same object its HTTP routes use, so serve and model-server run them on the
 * local batcher and a gateway forwards them to its model servers. An RPC missing here
 * (shared memory, trace, log settings) is answered UNIMPLEMENTED by the edge.
 * ModelStreamInfer runs each message as ModelInfer does (stream-infer.ts), admitted message
 * by message by the edge (stream-edge.ts).
 */
export function serviceImplementation(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const { backend, version } = deps;
  const unary =
    <Req>(fn: Handler<Req>): grpc.handleUnaryCall<Req, unknown> =>
    (call, callback) => {
      const edge = deps.calls.get(call.metadata)!;
      Promise.resolve()
        .then(() => edge.within(() => fn(call.request, edge)))
        .then(
          (res) => callback(null, res),
          (err: unknown) => callback(edge.fail(err)),
        );
    };
  const model = (req: ModelRequest): ModelInfo => {
    if (!req.name) throw new LoupeError(ErrorCode.BadRequest, 'the request names no model');
    return backend.getModel(req.name, req.version || undefined);
  };

  const infer = async (req: ModelInferRequest, context: LogContext) => {
    if (!req.model_name) throw new LoupeError(ErrorCode.BadRequest, 'model_name is required');
    const res = await backend.infer(req.model_name, req.model_version || undefined, toOipRequest(req));
    Object.assign(context, { model: res.model_name, ...(res.model_version ? { version: res.model_version } : {}) });
    return toInferResponse(res);
  };

  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: backend.readiness().ready })),
    // As Triton answers: an unknown model, or one not loaded yet, is not ready (no error).
    ModelReady: unary((req: ModelRequest) => {
      try {
        return { ready: model(req) !== undefined };
      } catch (err) {
        const code = err instanceof LoupeError ? err.code : undefined;
        if (code === ErrorCode.ModelNotFound || code === ErrorCode.NotReady) return { ready: false };
        throw err;
      }
    }),
    ServerMetadata: unary(() => ({ name: 'loupe', version, extensions: [...OIP_EXTENSIONS] })),
    // The HTTP route's view, less `parameters`, which the protobuf message does not have.
    ModelMetadata: unary((req: ModelRequest) => {
      const { parameters: _extra, ...metadata } = oipModelMetadata(backend, model(req));
      return metadata;
    }),
    ModelInfer: unary((req: ModelInferRequest, edge) => infer(req, edge.context)),
    // Each message runs under the stream's span (a stream has one traceparent, in its metadata).
    ModelStreamInfer: (call: grpc.ServerDuplexStream<ModelInferRequest, unknown>) => {
      const edge = deps.calls.get(call.metadata);
      streamInfer((req, context) => (edge ? edge.within(() => infer(req, context)) : infer(req, context)))(call);
    },
    ModelConfig: unary((req: ModelRequest) => ({ config: tritonModelConfig(model(req)) })),
    ModelStatistics: unary(async (req: ModelRequest) => ({
      model_stats: await backend.statistics(req.name || undefined, req.name ? req.version || undefined : undefined),
    })),
    RepositoryIndex: unary((req: RepositoryIndexRequest) => ({ models: repositoryIndex(backend, req.ready) })),
    // The HTTP routes' calls (the backend reads the parameters after its mode check); a gateway's
    // per-replica report has no field here: its error says the first failure.
    RepositoryModelLoad: unary(async (req: RepositoryModelRequest) => {
      await backend.loadModel(req.model_name, plainParameters(req));
      return {};
    }),
    RepositoryModelUnload: unary(async (req: RepositoryModelRequest) => {
      await backend.unloadModel(req.model_name, plainParameters(req));
      return {};
    }),
  };
}

/** ModelRepositoryParameter values as the HTTP body carries them (bytes as UTF-8 text). */
function plainParameters(req: RepositoryModelRequest): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(req.parameters ?? {}).map(([k, p]) => {
      const v = p.parameter_choice ? p[p.parameter_choice] : undefined;
      return [k, Buffer.isBuffer(v) ? v.toString('utf8') : v];
    }),
  );
}
