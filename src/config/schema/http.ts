import { Type } from 'typebox';

const MiB = 1024 * 1024;

/** HTTP: listening, request limits and timeouts, per-client limits and API keys (serve, gateway). */
export const HttpVariables = {
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
  LOUPE_GRPC_PORT: Type.String({
    pattern: '^(off|[0-9]{1,5})$',
    default: '8001',
    description:
      "gRPC port of the Open Inference Protocol (KServe v2 / Triton's GRPCInferenceService) on serve, gateway and model-server, on HOST next to the HTTP port (Triton's 8000/8001); on by default so Triton's and KServe's gRPC clients work unchanged. 0 picks a free one; off: no gRPC (the module is not even loaded).",
  }),
  LOUPE_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'Log level.' },
  ),
  LOUPE_LOG_FORMAT: Type.Union([Type.Literal('auto'), Type.Literal('json'), Type.Literal('pretty')], {
    default: 'auto',
    description:
      'json: one JSON object per line (for log collectors); pretty: one human-readable line per entry (pino-pretty), colored on a terminal; auto: pretty when stdout is a terminal, else json.',
  }),
  LOUPE_REVISION: Type.String({
    default: '',
    maxLength: 100,
    description:
      "The source revision (commit) this build is of, shown as loupe_build_info's revision label: the image sets it from its REVISION build argument (the release workflow passes the commit). Empty: 'unknown'. From a git checkout, set it yourself if you want it (e.g. LOUPE_REVISION=$(git rev-parse HEAD)); Loupe never runs git.",
  }),
  LOUPE_NODE_TUNING: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'on: the CLI restarts itself once, in place, with the Node memory settings the footprint bench measured (--liftoff-only, --max-semi-space-size=8; flags you give yourself win); off: Node as started. Read before the rest of the configuration.',
  }),
  LOUPE_MAX_UPLOAD_BYTES: Type.Integer({
    minimum: 1024,
    default: 20 * MiB,
    description: 'Largest accepted upload in bytes; larger ones get 413 without being buffered.',
  }),
  LOUPE_SHUTDOWN_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 10_000,
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
  }),
  LOUPE_SHUTDOWN_DELAY_MS: Type.Integer({
    minimum: 0,
    default: 0,
    description:
      'On SIGTERM, keep serving this long before draining: callers that still hold this address (nginx, DNS caches) find it open while an orchestrator takes it out of service discovery (the Swarm stack sets it).',
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
      'Upload bytes all requests together (HTTP bodies and gRPC messages) may hold in memory, charged as the bytes arrive, never for a Content-Length announced but not yet sent; an upload the budget has no room for gets 503 + Retry-After (gRPC UNAVAILABLE). 0: no limit.',
  }),
  LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT: Type.Integer({
    minimum: 0,
    default: 32 * MiB,
    description:
      "A client's share of LOUPE_MAX_INFLIGHT_UPLOAD_BYTES (its API key, or its address without one): past it that client's uploads get 429 + Retry-After (gRPC RESOURCE_EXHAUSTED) while other clients go on. A client's only upload in flight may exceed it, so a share below LOUPE_MAX_UPLOAD_BYTES still lets each client send one upload at a time. Default: a quarter of the default budget. 0: no per-client share.",
  }),
  LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S: Type.Integer({
    minimum: 0,
    default: 16 * 1024,
    description:
      'Minimum data rate of an upload (HTTP request body, gRPC inference message), as Apache mod_reqtimeout MinRate: after LOUPE_UPLOAD_RATE_GRACE_MS, an upload must have averaged this many bytes per second, else it is cut with 408 (gRPC DEADLINE_EXCEEDED) and what it held is given back. The default (128 kbit/s) lets a mobile upload of a few MB through on a poor link. 0: no floor (LOUPE_REQUEST_TIMEOUT_MS still applies).',
  }),
  LOUPE_UPLOAD_RATE_GRACE_MS: Type.Integer({
    minimum: 0,
    default: 10_000,
    description:
      'Time every upload has before LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S applies (also how long a gRPC inference call may wait for its first byte); each byte sent earns 1/rate s more.',
  }),
  LOUPE_HEADERS_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    default: 20_000,
    description:
      'Time a client has to send the request line and headers; slower ones get 408 and are disconnected. On the gRPC port, the time a new connection has to start its first call (a silent one, or one that sends only the HTTP/2 preface, is closed).',
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
    description:
      'Open connections accepted per transport: the HTTP server and the gRPC server each accept this many; further ones are closed at once. 0: no limit.',
  }),
  LOUPE_RATE_LIMIT_PER_MINUTE: Type.Integer({
    minimum: 0,
    default: 6000,
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
};
