import { Type, type TSchema } from 'typebox';

/**
 * Triton's extension answers (src/inference/oip/triton-types.ts), as the HTTP routes validate
 * and document them: field names are Triton's protobuf names, 64-bit integers JSON numbers.
 */

const Int = Type.Integer;
const Str = Type.String;
const Bool = Type.Boolean;
const Empty = (description: string) => Type.Array(Type.Unknown(), { description, maxItems: 0 });
const Strings = Type.Record(Str(), Str());

const QueuePolicy = Type.Object({
  timeout_action: Type.Union([Type.Literal('REJECT'), Type.Literal('DELAY')]),
  default_timeout_microseconds: Int(),
  allow_timeout_override: Bool(),
  max_queue_size: Int(),
});

export const ModelConfigSchema = Type.Object(
  {
    name: Str(),
    platform: Str(),
    backend: Str(),
    runtime: Str(),
    version_policy: Type.Object(
      { all: Type.Object({}) },
      { description: 'Every version in the store is served (Loupe loads them all)' },
    ),
    max_batch_size: Int({
      description: 'Largest batch one request may carry; dims below leave the batch dimension out',
    }),
    input: Type.Array(
      Type.Object({
        name: Str(),
        data_type: Str({ examples: ['TYPE_FP32'] }),
        format: Str({ examples: ['FORMAT_NCHW'] }),
        dims: Type.Array(Int()),
        is_shape_tensor: Bool(),
        allow_ragged_batch: Bool(),
        optional: Bool(),
        is_non_linear_format_io: Bool(),
      }),
    ),
    output: Type.Array(
      Type.Object({
        name: Str(),
        data_type: Str(),
        dims: Type.Array(Int()),
        label_filename: Str(),
        is_shape_tensor: Bool(),
        is_non_linear_format_io: Bool(),
      }),
    ),
    batch_input: Empty('none'),
    batch_output: Empty('none'),
    dynamic_batching: Type.Object({
      preferred_batch_size: Type.Array(Int()),
      max_queue_delay_microseconds: Int(),
      preserve_ordering: Bool(),
      priority_levels: Int(),
      default_priority_level: Int(),
      default_queue_policy: QueuePolicy,
      priority_queue_policy: Type.Record(Str(), QueuePolicy),
    }),
    instance_group: Type.Array(
      Type.Object({
        name: Str(),
        kind: Str({ examples: ['KIND_CPU'] }),
        count: Int(),
        gpus: Type.Array(Int()),
        secondary_devices: Empty('none'),
        profile: Type.Array(Str()),
        passive: Bool(),
        host_policy: Str(),
      }),
    ),
    default_model_filename: Str(),
    cc_model_filenames: Strings,
    metric_tags: Strings,
    parameters: Type.Record(Str(), Type.Object({ string_value: Str() })),
    model_warmup: Empty('none'),
  },
  { description: "Triton's model configuration (model_config.proto ModelConfig as JSON)" },
);

const Duration = (description: string) =>
  Type.Object({ count: Int(), ns: Int({ description: 'summed nanoseconds' }) }, { description });

const BatchStats = Type.Object({
  batch_size: Int(),
  compute_input: Duration('assembling the batch tensor'),
  compute_infer: Duration('the ONNX Runtime run'),
  compute_output: Duration('handing each request its rows'),
});

const ModelStatistics = Type.Object({
  name: Str(),
  version: Str(),
  last_inference: Int({ description: 'milliseconds since the epoch of the last request (0: none yet)' }),
  inference_count: Int({ description: 'samples (images, batch elements) inferred' }),
  execution_count: Int({ description: 'batched ONNX Runtime runs' }),
  inference_stats: Type.Object({
    success: Duration('successful requests and their whole time'),
    fail: Duration('failed requests and their time'),
    queue: Duration('waiting in the dynamic batcher'),
    compute_input: Duration('decoding and preprocessing the input'),
    compute_infer: Duration('the ONNX Runtime run(s) the request went into'),
    compute_output: Duration('picking the scores and encoding the answer'),
    cache_hit: Duration('no response cache: always 0'),
    cache_miss: Duration('no response cache: always 0'),
  }),
  batch_stats: Type.Array(BatchStats),
  memory_usage: Empty('not reported'),
  response_stats: Type.Record(Str(), Type.Unknown(), { description: 'decoupled models only: empty' }),
});

export const StatisticsSchema = Type.Object(
  { model_stats: Type.Array(ModelStatistics) },
  { description: "Triton's inference statistics (grpc_service.proto ModelStatisticsResponse as JSON)" },
);

export const RepositoryIndexRequestSchema = Type.Object(
  { ready: Type.Optional(Bool({ description: 'true: only the versions that are ready' })) },
  { examples: [{ ready: true }] },
);

export const RepositoryIndexSchema: TSchema = Type.Array(
  Type.Object({
    name: Str(),
    version: Type.Optional(Str()),
    state: Type.Union([
      Type.Literal('READY'),
      Type.Literal('LOADING'),
      Type.Literal('UNLOADING'),
      Type.Literal('UNAVAILABLE'),
    ]),
    reason: Type.Optional(Str({ description: 'why a version is not ready: its load error, "unloaded", …' })),
  }),
  {
    examples: [
      [
        { name: 'fashion-mnist', version: '1', state: 'READY' },
        { name: 'broken', version: '1', state: 'UNAVAILABLE', reason: 'model.onnx is missing' },
        { name: 'resnet18', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      ],
    ],
  },
);
