import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ownerOf, visibleOwner } from '../../auth/index.ts';
import { ErrorCode, LoupeError } from '../../errors.ts';
import { IMAGE_PIECE_BYTES } from '../../storage/index.ts';
import { resolveTopK } from '../../inference/index.ts';
import type { AppDeps, JobDeps } from '../app.ts';
import { IdempotencyKeyHeader, idempotencyKey } from '../idempotency-key.ts';
import { UUID_PATTERN, errorResponses } from '../schemas.ts';
import { receiveJob } from '../job-upload.ts';
import { formField } from '../openapi.ts';
import type { Tracing } from '../../observability/index.ts';
import { noteForLog } from '../request-log.ts';
import { MULTIPART_SLACK } from '../upload.ts';

const WebhookBody = Type.Object({
  url: Type.String(),
  status: Type.Union([Type.String(), Type.Null()], {
    description: 'The outcome in words: `delivered (204)`, `retrying: delivery failed`, `failed: …`, `refused: …`',
  }),
  state: Type.Union(
    [Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('refused')],
    { description: 'Final unless `pending`: after a 2xx, a refusal by the egress policy, or the last attempt' },
  ),
  attempts: Type.Integer({ description: 'Delivery attempts made so far' }),
  last_error: Type.Union([Type.String(), Type.Null()], {
    description:
      'Why the last attempt did not deliver, in fixed words (never network detail): `delivery failed`, `the webhook address is not allowed`, `receiver circuit open` (deferred, not tried)',
  }),
  last_status: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's 2xx answer" }),
  delivered_at: Type.Union([Type.String(), Type.Null()]),
});

const JobBody = Type.Object({
  id: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
  ]),
  model: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  top_k: Type.Union([Type.Integer(), Type.Null()]),
  progress: Type.Object({ total: Type.Integer(), done: Type.Integer(), failed: Type.Integer() }),
  webhook: Type.Union([WebhookBody, Type.Null()]),
  metadata: Type.Record(Type.String(), Type.String()),
  created_at: Type.String(),
  updated_at: Type.String(),
  completed_at: Type.Union([Type.String(), Type.Null()]),
  items: Type.Array(
    Type.Object({
      index: Type.Integer(),
      filename: Type.Union([Type.String(), Type.Null()]),
      status: Type.String(),
      prediction_id: Type.Union([Type.String(), Type.Null()]),
      result: Type.Unknown(),
      error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
    }),
  ),
});

const Accepted = Type.Object(
  { id: Type.String(), status: Type.String(), status_url: Type.String() },
  {
    examples: [
      {
        id: '6f1d0b7e-1c1a-4f57-8f6e-3f9d8f2a1b3c',
        status: 'queued',
        status_url: '/jobs/6f1d0b7e-1c1a-4f57-8f6e-3f9d8f2a1b3c',
      },
    ],
  },
);

export const jobRoutes: FastifyPluginAsyncTypebox<AppDeps & { jobs: JobDeps }> = async (
  app,
  { jobs, options, backend, tracing },
) => {
  const checkModel = (model: string | undefined, version: string | undefined, topK: number | undefined) => {
    const m = backend.getModel(model, version);
    resolveTopK(topK, m.labels.length, m.name);
  };
  app.post(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Classify many images asynchronously',
        description:
          'multipart/form-data with one or more `file` fields, and optional fields `model`, `version`, `top_k`, `webhook_url` and `metadata` (a JSON object of strings). ' +
          'Answers 202 with the job id at once. With `Idempotency-Key`, a repeated request returns the first job (200); the key sent again with a different request is refused (422, `IDEMPOTENCY_KEY_REUSED`). The webhook is POSTed on completion with ' +
          '`X-Loupe-Signature: sha256=HMAC_SHA256(secret, "<X-Loupe-Timestamp>.<body>")`, retried with backoff. ' +
          '`webhook_url` must be http(s) without credentials and reach a public address (unless the server allows it); redirects are not followed.',
        headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKeyHeader) }),
        response: { 200: Accepted, 202: Accepted, ...errorResponses(400, 413, 415, 422, 429, 503) },
      },
      config: {
        // Images go to the database as they arrive, a piece at a time: that is all a job holds.
        bodyLimits: { max: options.jobs.maxBytes, resident: IMAGE_PIECE_BYTES + MULTIPART_SLACK },
        openapiBody: {
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: {
                  file: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'The images' },
                  model: formField('Model name (default: the configured default model).', options.defaultModel),
                  version: formField('Model version (default: the latest).', ''),
                  top_k: formField('Labels per image (default 5, or every class when fewer).', 3),
                  webhook_url: {
                    ...formField('http(s) URL POSTed when the job ends (default: none).', ''),
                    format: 'uri',
                  },
                  metadata: formField('A JSON object of strings, stored with the job.', '{"batch": "try-it-out"}'),
                },
              },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const key = idempotencyKey(req.headers['idempotency-key']); // a bad key is refused before the upload is read
      const res = await receiveJob(
        req,
        {
          limits: { maxImages: options.jobs.maxImages, maxUploadBytes: options.maxUploadBytes },
          store: jobs.store,
          boss: jobs.boss,
          submit: {
            webhooksEnabled: jobs.webhooksEnabled,
            webhookPolicy: jobs.webhookPolicy,
            checkModel,
            trace: submitterTrace(tracing),
          },
        },
        { idempotencyKey: key, idempotencyScope: req.principal?.keyId, owner: ownerOf(req) },
      );
      noteForLog(req, { job_id: res.id });
      const job = await jobs.store.get(res.id);
      reply.code(res.created ? 202 : 200).header('location', `/jobs/${res.id}`);
      return { id: res.id, status: job?.status ?? 'queued', status_url: `/jobs/${res.id}` };
    },
  );

  app.get(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Job status, progress and per-image results',
        params: Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) }),
        response: { 200: JobBody, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      noteForLog(req, { job_id: req.params.id });
      const job = await jobs.store.get(req.params.id, visibleOwner(req));
      if (!job) throw new LoupeError(ErrorCode.NotFound, `no job ${req.params.id}`);
      return job;
    },
  );
};

/** The request's trace context, queued with its job so the worker continues the trace; none when tracing is off. */
function submitterTrace(tracing: Tracing | undefined): Record<string, string> | undefined {
  if (!tracing?.enabled) return undefined;
  const carrier: Record<string, string> = {};
  tracing.inject(carrier);
  return carrier;
}
