import { Type, type Static } from 'typebox';
import type { FileKey } from '../auth/index.ts';
import { PROVIDER_LIST_PATTERN, type ExecutionProvider } from './providers.ts';

const MiB = 1024 * 1024;

// One schema for every environment variable Loupe reads. The README table and .env.example
// are checked against it by a test, so documentation cannot drift from the code.
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 8000,
    description: 'HTTP port to listen on (0 picks a free one).',
  }),
  HOST: Type.String({
    minLength: 1,
    default: '127.0.0.1',
    description: 'Address to bind; the container image sets 0.0.0.0.',
  }),
  LOUPE_MODEL_STORE: Type.String({
    minLength: 1,
    default: './model-store',
    description: 'Model store directory: <name>/model.json, <name>/labels.txt, <name>/<version>/model.onnx.',
  }),
  LOUPE_DEFAULT_MODEL: Type.String({
    minLength: 1,
    default: 'fashion-mnist',
    description: 'Model used when a request names none; readiness waits for it.',
  }),
  LOUPE_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'Log level (JSON logs; pretty on a TTY).' },
  ),
  LOUPE_MAX_UPLOAD_BYTES: Type.Integer({
    minimum: 1024,
    default: 20 * MiB,
    description: 'Largest accepted upload in bytes; larger ones get 413 without being buffered.',
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
  LOUPE_DATABASE_URL: Type.String({
    default: '',
    description: 'PostgreSQL URL (postgres://user@host:5432/db); empty uses embedded PGlite in LOUPE_DATA_DIR.',
  }),
  LOUPE_DATABASE_PASSWORD_FILE: Type.String({
    default: '',
    description: 'File holding the database password (a Docker/Compose secret); overrides any password in the URL.',
  }),
  LOUPE_DATA_DIR: Type.String({
    minLength: 1,
    default: './.data',
    description: 'Where `serve` keeps its PGlite database; memory:// keeps nothing.',
  }),
  LOUPE_PGLITE_SEED: Type.String({
    default: '',
    description:
      'A prepared PGlite database (`loupe migrate --write-seed FILE`) unpacked into an empty LOUPE_DATA_DIR; it makes a first start ~2 s faster. The image sets it.',
  }),
  LOUPE_STORE_IMAGES: Type.Boolean({
    default: false,
    description: 'Keep the uploaded image bytes with each prediction record.',
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
  LOUPE_WORKER_CONCURRENCY: Type.Integer({ minimum: 1, default: 2, description: 'Jobs a worker processes at once.' }),
  LOUPE_MAX_JOB_IMAGES: Type.Integer({ minimum: 1, default: 64, description: 'Most images one POST /jobs may carry.' }),
  LOUPE_WEBHOOK_SECRET: Type.String({
    default: '',
    description:
      'HMAC-SHA256 key for webhook signatures (X-Loupe-Signature); jobs with a webhook_url are refused while it is empty.',
  }),
  LOUPE_WEBHOOK_SECRET_FILE: Type.String({
    default: '',
    description: 'File holding the webhook secret (a Docker/Compose secret).',
  }),
  LOUPE_SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
  }),
  LOUPE_WEBHOOK_ALLOW: Type.String({
    pattern: '^(\\s*[*]?[0-9A-Za-z._:-]+(/[0-9]{1,3})?(\\s*,\\s*[*]?[0-9A-Za-z._:-]+(/[0-9]{1,3})?)*\\s*)?$',
    default: '',
    description:
      'Webhook receivers that may be on private, loopback, link-local or other non-public addresses: comma-separated CIDRs (10.0.0.0/8, fd00::/8), addresses and host names (hook, *.internal). Empty: public addresses only.',
  }),
  LOUPE_MAX_JOB_BYTES: Type.Integer({
    minimum: 1024,
    default: 256 * MiB,
    description:
      'Largest POST /jobs body in bytes, counted as it arrives (chunked or not); larger ones get 413 at once.',
  }),
  LOUPE_MAX_INFLIGHT_UPLOAD_BYTES: Type.Integer({
    minimum: 0,
    default: 128 * MiB,
    description:
      'Upload bytes all requests together may hold in memory; past it uploads get 503 + Retry-After before being read. 0: no limit.',
  }),
  LOUPE_HEADERS_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 20_000,
    description: 'Time a client has to send the request line and headers; slower ones get 408 and are disconnected.',
  }),
  LOUPE_REQUEST_TIMEOUT_MS: Type.Integer({
    minimum: 0,
    default: 300_000,
    description: 'Time a client has to send a whole request, body included; slower ones get 408. 0: no limit.',
  }),
  LOUPE_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({
    minimum: 1,
    default: 72_000,
    description: "How long an idle keep-alive connection stays open; above proxies' idle timeouts (nginx, ALB: 60 s).",
  }),
  LOUPE_MAX_CONNECTIONS: Type.Integer({
    minimum: 0,
    default: 2048,
    description: 'Open connections the HTTP server accepts; further ones are closed at once. 0: no limit.',
  }),
  LOUPE_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 0,
    default: 3000,
    description:
      'API requests one client (its API key, or its address when auth is off) may make per minute in one serve/gateway process; then 429 with Retry-After. 0 turns it off.',
  }),
  LOUPE_MAX_INFLIGHT_PER_CLIENT: Type.Integer({
    minimum: 0,
    default: 64,
    description:
      'Inference requests (/predict, POST /jobs, OIP infer) one client may have in flight at once in one serve/gateway process; more get 429. 0 turns it off.',
  }),
  LOUPE_TRUST_PROXY: Type.String({
    default: '',
    description:
      "Which proxies' X-Forwarded-For to believe for the client address: a hop count (1 behind one proxy), true, or comma-separated addresses/CIDRs. Empty: none (the peer address is the client).",
  }),
  LOUPE_AUTH: Type.Union([Type.Literal('auto'), Type.Literal('required'), Type.Literal('off')], {
    default: 'auto',
    description:
      'API keys on serve and gateway: required, off, or auto = required unless HOST is a loopback address (127.0.0.0/8, ::1, localhost).',
  }),
  LOUPE_API_KEYS_FILE: Type.String({
    default: '',
    description:
      'File of API keys (a Docker/Compose secret), one "<name> <scope,scope> <key>" per line; serve and gateway add them at start and revoke file keys no longer listed.',
  }),
});

/** The environment as validated, plus what is derived from it once, at load. */
export interface Config extends Readonly<Static<typeof ConfigSchema>> {
  /** LOUPE_EXECUTION_PROVIDERS, parsed: the providers to try, in order, without repeats. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** LOUPE_WEBHOOK_SECRET, or the contents of LOUPE_WEBHOOK_SECRET_FILE; '' turns webhooks off. */
  readonly webhookSecret: string;
  /** The contents of LOUPE_DATABASE_PASSWORD_FILE, when it is set. */
  readonly databasePassword: string | undefined;
  /** LOUPE_AUTH resolved against HOST: whether serve and gateway require API keys. */
  readonly authRequired: boolean;
  /** The keys of LOUPE_API_KEYS_FILE (hashes, never the keys); undefined when no file is named. */
  readonly apiKeys: readonly FileKey[] | undefined;
}
