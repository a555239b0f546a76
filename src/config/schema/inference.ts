import { Type } from 'typebox';
import { PROVIDER_LIST_PATTERN } from '../shared/index.ts';

/** Models and inference: the store, ONNX Runtime, batching, execution providers, model servers. */
export const InferenceVariables = {
  LOUPE_MODEL_STORE: Type.String({
    minLength: 1,
    default: './model-store',
    description: 'Model store directory: <name>/model.json, <name>/labels.txt, <name>/<version>/model.onnx.',
  }),
  LOUPE_MODEL_NAME: Type.String({
    pattern: '^([A-Za-z0-9][A-Za-z0-9._-]{0,127})?$',
    default: '',
    description:
      "Serve LOUPE_MODEL_STORE as ONE model under this name: the store is then that model's directory (model.json, labels.txt, and <version>/model.onnx or a bare model.onnx as version 1), as KServe's storage initializer fills /mnt/models. `loupe model-server --model-name N` sets it and LOUPE_DEFAULT_MODEL. Empty: the store holds <name>/ directories.",
  }),
  LOUPE_DEFAULT_MODEL: Type.String({
    minLength: 1,
    default: 'fashion-mnist',
    description: 'Model used when a request names none; readiness waits for it.',
  }),
  LOUPE_MAX_PIXELS: Type.Integer({
    minimum: 1,
    default: 40_000_000,
    description: 'Largest accepted image in pixels (width × height); larger ones get 422 (decompression bombs).',
  }),
  LOUPE_CPUS: Type.Number({
    minimum: 0,
    default: 0,
    description: 'CPUs the process may use; 0 derives it from the cgroup CPU quota or the core count.',
  }),
  LOUPE_INTRA_OP_THREADS: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'ONNX Runtime intra-op threads per model; 0 = the CPUs the process may use.',
  }),
  LOUPE_INTER_OP_THREADS: Type.Integer({
    minimum: 0,
    default: 1,
    description: 'ONNX Runtime inter-op threads per model.',
  }),
  LOUPE_ORT_SPINNING: Type.Boolean({
    default: false,
    description:
      "Let ONNX Runtime's idle threads spin-wait; faster only when nothing else (image decoding) needs the cores.",
  }),
  LOUPE_ORT_OPTIMIZE_IN_CHILD: Type.Boolean({
    default: true,
    description:
      "Run ONNX Runtime's CPU graph optimizations in a short-lived child process at model load, so the optimizer's working memory is not left resident (ResNet-18: ~90 MB less RSS, same speed).",
  }),
  LOUPE_DECODE_THREADS: Type.Integer({
    minimum: 0,
    default: 0,
    description: 'Images decoded at once (sharp/libuv pool); 0 = the CPUs the process may use.',
  }),
  LOUPE_MAX_BATCH_SIZE: Type.Integer({
    minimum: 0,
    default: 0,
    description: "Override every model's batching.max_batch_size; 0 keeps model.json's.",
  }),
  LOUPE_MAX_QUEUE_DELAY_MS: Type.Number({
    minimum: -1,
    default: -1,
    description:
      "Override batching.max_queue_delay_ms (how long a request may wait for a batch to fill); -1 keeps model.json's.",
  }),
  LOUPE_MAX_QUEUE_SIZE: Type.Integer({
    minimum: 0,
    default: 0,
    description: "Override batching.max_queue_size (requests waiting per model before 503); 0 keeps model.json's.",
  }),
  LOUPE_EXECUTION_PROVIDERS: Type.String({
    pattern: PROVIDER_LIST_PATTERN,
    default: 'cpu',
    description:
      'ONNX Runtime execution providers to try in order, e.g. cuda,webgpu,cpu; one that fails to initialise falls back to the next.',
  }),
  LOUPE_REQUIRE_GPU: Type.Boolean({
    default: false,
    description:
      'Serve only on a GPU: the CPU provider is not tried, and a model no GPU provider can load stops the process at start (exit 1).',
  }),
  LOUPE_RETRY_AFTER_S: Type.Integer({
    minimum: 1,
    default: 1,
    description: 'Retry-After seconds sent with 503 when a queue is full.',
  }),
  LOUPE_MODEL_SERVER_URL: Type.String({
    default: '',
    description:
      'gateway/worker: base URL of the model servers (http://model:8000); the host name is re-resolved and every address gets requests.',
  }),
  LOUPE_MODEL_POLL_S: Type.Number({
    minimum: 0,
    default: 5,
    description:
      'How often to look for new model versions in the store (and, in the gateway, for model servers); 0 disables.',
  }),
  LOUPE_MODEL_CONTROL: Type.Union([Type.Literal('poll'), Type.Literal('explicit'), Type.Literal('none')], {
    default: 'poll',
    description:
      "Triton's model control mode (serve, model-server). poll: load every version at start and watch the store (LOUPE_MODEL_POLL_S); load/unload calls are refused. explicit: load LOUPE_STARTUP_MODELS at start, then change only on POST /v2/repository/models/{m}/load|unload (admin scope; gRPC RepositoryModelLoad/Unload); no polling. none: load every version at start and never change.",
  }),
  LOUPE_STARTUP_MODELS: Type.String({
    pattern: '^(\\*|[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\\s*,\\s*[A-Za-z0-9][A-Za-z0-9._-]{0,127})*)?$',
    default: '',
    description:
      "LOUPE_MODEL_CONTROL=explicit: the models loaded at start (Triton's --load-model), comma-separated; `*` loads every model in the store; empty: LOUPE_DEFAULT_MODEL alone.",
  }),
  LOUPE_MODEL_URIS: Type.String({
    default: '',
    description:
      'Models to pull into the store at start (serve, model-server, `loupe models pull-all`): `name[@version]=<source>` entries separated by commas or spaces; a source is https://…, hf://org/repo[@rev]/file or a local path, optionally ending `#sha256=<hex>&preset=imagenet`. A version already pulled from the same source is not pulled again.',
  }),
  LOUPE_MODEL_PULL_MAX_BYTES: Type.Integer({
    minimum: 1,
    default: 2 * 1024 ** 3,
    description: 'Largest model file a pull downloads or copies; a larger one is refused before or while it arrives.',
  }),
  HF_ENDPOINT: Type.String({
    pattern: '^https?://[^\\s]+$',
    default: 'https://huggingface.co',
    description: 'The Hugging Face Hub that hf:// sources resolve against (a mirror, as huggingface_hub reads it).',
  }),
  HF_TOKEN: Type.String({
    default: '',
    description:
      'Hugging Face access token for gated or private hf:// repositories; sent to HF_ENDPOINT only, never to the CDN it redirects to.',
  }),
};
