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
};
