import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { describeModel, type ModelInfo } from '../../inference/index.ts';
import type { AppDeps } from '../app.ts';
import { ModelBody, errorResponses } from '../schemas.ts';

export const modelRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { backend }) => {
  app.get(
    '/models',
    {
      schema: {
        tags: ['models'],
        summary: 'List loaded models (latest version of each)',
        response: { 200: Type.Object({ models: Type.Array(ModelBody) }) },
      },
    },
    async () => {
      const latest = new Map<string, ModelInfo>();
      for (const m of backend.listModels()) latest.set(m.name, m); // versions come sorted ascending
      return { models: [...latest.values()].map((m) => describeModel(backend, m, false)) };
    },
  );

  app.get(
    '/models/:name',
    {
      schema: {
        tags: ['models'],
        summary: 'Describe one model, with its labels',
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({ version: Type.Optional(Type.String({ pattern: '^[0-9]+$' })) }),
        response: { 200: ModelBody, ...errorResponses(400, 404) },
      },
    },
    async (req) => describeModel(backend, backend.getModel(req.params.name, req.query.version), true),
  );
};
