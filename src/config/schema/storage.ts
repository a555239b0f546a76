import { Type } from 'typebox';

/** Storage and jobs: the database, prediction history, the job worker and its webhooks. */
export const StorageVariables = {
  LOUPE_DATABASE_URL: Type.String({
    default: '',
    description: 'PostgreSQL URL (postgres://user@host:5432/db); empty uses embedded PGlite in LOUPE_DATA_DIR.',
  }),
  LOUPE_DATABASE_PASSWORD_FILE: Type.String({
    default: '',
    description: 'File holding the database password (a Docker/Compose secret); overrides any password in the URL.',
  }),
  LOUPE_DATABASE_WAIT_S: Type.Integer({
    minimum: 0,
    default: 120,
    description:
      'How long `loupe migrate` (and `serve` with a PostgreSQL URL) waits at start for PostgreSQL to answer, and the gateway and worker for it to answer and `loupe migrate` to have run (the stack starts in any order); 0 fails at once.',
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
  LOUPE_WEBHOOK_ALLOW: Type.String({
    pattern: '^(\\s*[*]?[0-9A-Za-z._:-]+(/[0-9]{1,3})?(\\s*,\\s*[*]?[0-9A-Za-z._:-]+(/[0-9]{1,3})?)*\\s*)?$',
    default: '',
    description:
      'Webhook receivers that may be on private, loopback, link-local or other non-public addresses: comma-separated CIDRs (10.0.0.0/8, fd00::/8), addresses and host names (hook, *.internal). Empty: public addresses only.',
  }),
  LOUPE_WEBHOOK_CONCURRENCY: Type.Integer({
    minimum: 1,
    maximum: 1024,
    default: 32,
    description:
      'Webhook deliveries a worker process makes at once (each waits at most LOUPE_WEBHOOK_TIMEOUT_MS). Receivers that never answer take at most LOUPE_WEBHOOK_CONCURRENCY_PER_RECEIVER slots each, so this many / that many dead receivers at once are needed to delay a healthy one.',
  }),
  LOUPE_WEBHOOK_CONCURRENCY_PER_RECEIVER: Type.Integer({
    minimum: 1,
    default: 2,
    description:
      "Webhook deliveries in flight to one receiver (host:port), counted across all workers: a slow receiver's jobs wait for each other, never take every slot.",
  }),
  LOUPE_WEBHOOK_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 10_000,
    description: 'Time for one webhook attempt: name resolution, connection, answer and body.',
  }),
  LOUPE_WEBHOOK_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 9,
    description:
      "Webhook delivery attempts per job (the first and its retries); after the last, the job's webhook state is `failed`, final.",
  }),
  LOUPE_WEBHOOK_RETRY_DELAY_S: Type.Integer({
    minimum: 0,
    default: 2,
    description: 'Delay before the first webhook retry; it doubles (with jitter) for each later one.',
  }),
  LOUPE_WEBHOOK_RETRY_DELAY_MAX_S: Type.Integer({
    minimum: 0,
    default: 300,
    description: 'Longest delay between two webhook retries.',
  }),
  LOUPE_WEBHOOK_MAX_AGE_S: Type.Integer({
    minimum: 1,
    default: 86_400,
    description:
      "A webhook still deferred by its receiver's open circuit this long after the job finished is given up (state `failed`): deferrals use no attempt, so this bounds how long a job's webhook can stay pending.",
  }),
  LOUPE_WEBHOOK_BREAKER_FAILURES: Type.Integer({
    minimum: 1,
    default: 5,
    description:
      "Consecutive failed deliveries to one receiver (host:port) that open its circuit: that receiver's deliveries are deferred (not tried, no attempt used) until one probe after the cool-down succeeds. Per worker process.",
  }),
  LOUPE_WEBHOOK_BREAKER_COOLDOWN_MS: Type.Integer({
    minimum: 1,
    default: 30_000,
    description: "How long a receiver's open circuit defers its deliveries before one probe may go.",
  }),
  LOUPE_WEBHOOK_BREAKER_COOLDOWN_MAX_MS: Type.Integer({
    minimum: 1,
    default: 600_000,
    description: 'The cool-down doubles with each failed probe, up to this.',
  }),
};
