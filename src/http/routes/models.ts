import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { describeModel, type ModelInfo } from '../../inference/index.ts';
import { SAMPLE_NAME } from '../../models/index.ts';
import type { AppDeps } from '../app.ts';
import { ModelBody } from '../model-schemas.ts';
import { errorResponses } from '../schemas.ts';

export const modelRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { backend, options }) => {
  const { defaultModel } = options;
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
      return { models: [...latest.values()].map((m) => describeModel(backend, m, defaultModel)) };
    },
  );

  app.get(
    '/models/:name',
    {
      schema: {
        tags: ['models'],
        summary: 'Describe one model, with its labels',
        params: Type.Object({ name: Type.String({ examples: [defaultModel] }) }),
        querystring: Type.Object({ version: Type.Optional(Type.String({ pattern: '^[0-9]+$' })) }),
        response: { 200: ModelBody, ...errorResponses(400, 404) },
      },
    },
    async (req) => describeModel(backend, backend.getModel(req.params.name, req.query.version), defaultModel),
  );

  app.get(
    '/models/:name/samples/:file',
    {
      schema: {
        tags: ['models'],
        summary: "One of the model card's sample images",
        description:
          "A few images of the model's own domain (its `card.samples`), to try it with: the page offers them with one click.",
        params: Type.Object({
          name: Type.String({ examples: [defaultModel] }),
          file: Type.String({ pattern: SAMPLE_NAME.source, examples: ['ankle-boot.png'] }),
        }),
        querystring: Type.Object({ version: Type.Optional(Type.String({ pattern: '^[0-9]+$' })) }),
        response: {
          200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary', description: 'The image (PNG, JPEG or WebP)' }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (req, reply) => {
      const { bytes, contentType } = await backend.sample(req.params.name, req.query.version, req.params.file);
      // Versions are immutable once served, and the URL names the version.
      return reply.type(contentType).header('cache-control', 'private, max-age=3600').send(bytes);
    },
  );
};
