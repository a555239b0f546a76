import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { visibleOwner } from '../../auth/index.ts';
import { ErrorCode, LoupeError } from '../../errors.ts';
import type { PredictionStore } from '../../storage/index.ts';
import type { AppDeps } from '../app.ts';
import { noteForLog } from '../request-log.ts';
import { PredictionBody, UUID_PATTERN, errorResponses } from '../schemas.ts';

export const PredictionRecordBody = Type.Object({
  id: Type.String(),
  model: Type.Object({ name: Type.String(), version: Type.String() }),
  predictions: Type.Array(Type.Object({ label: Type.String(), index: Type.Integer(), score: Type.Number() })),
  timings_ms: PredictionBody.properties.timings_ms,
  image: Type.Object({
    sha256: Type.String(),
    bytes: Type.Integer(),
    format: Type.String(),
    width: Type.Integer(),
    height: Type.Integer(),
  }),
  metadata: Type.Record(Type.String(), Type.String()),
  job_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()], {
    description: 'X-Request-Id of the request that made it, as its log lines carry it (null for a job item)',
  }),
  created_at: Type.String({ format: 'date-time' }),
});

const Uuid = Type.String({ pattern: UUID_PATTERN });

export const historyRoutes: FastifyPluginAsyncTypebox<AppDeps & { history: PredictionStore }> = async (
  app,
  { history },
) => {
  app.get(
    '/predictions',
    {
      schema: {
        tags: ['history'],
        summary: 'Recorded predictions, newest first',
        description:
          "With API keys on, a key with `predict` sees only its own records; an admin key and a read-only key (`read` without `predict`) see everyone's.",
        querystring: Type.Object({
          model: Type.Optional(Type.String()),
          since: Type.Optional(Type.String({ format: 'date-time', description: 'created_at ≥ since' })),
          until: Type.Optional(Type.String({ format: 'date-time', description: 'created_at < until' })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
          cursor: Type.Optional(Type.String({ description: 'next_cursor of the previous page' })),
          request_id: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9._:-]{1,128}$',
              description: 'Only the prediction made by the request with this X-Request-Id (from a log line)',
            }),
          ),
        }),
        response: {
          200: Type.Object({
            items: Type.Array(PredictionRecordBody),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400),
        },
      },
    },
    async (req) => history.list({ ...req.query, owner: visibleOwner(req) }),
  );

  app.get(
    '/predictions/:id',
    {
      schema: {
        tags: ['history'],
        summary: 'One recorded prediction',
        params: Type.Object({ id: Uuid }),
        response: { 200: PredictionRecordBody, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      noteForLog(req, { prediction_id: req.params.id });
      const rec = await history.get(req.params.id, visibleOwner(req));
      if (!rec) throw new LoupeError(ErrorCode.NotFound, `no prediction ${req.params.id}`);
      return rec;
    },
  );
};
