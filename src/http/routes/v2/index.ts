import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { OIP_EXTENSIONS } from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { controlRoutes } from './control.ts';
import { inferRoutes } from './infer.ts';
import { modelRoutes } from './models.ts';
import { repositoryRoutes } from './repository.ts';

export type OipApp = Parameters<FastifyPluginAsyncTypebox<AppDeps>>[0];

const ready = (b: boolean) => Type.Object({ ready: Type.Literal(b) });

/**
 * Open Inference Protocol v2 REST (kserve/open-inference-protocol, inference_rest.md), with
 * Triton's extensions its clients use (model configuration, statistics, repository index).
 */
export const oipRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, deps) => {
  // As in Triton, a body's framing is Inference-Header-Content-Length's alone and Content-Type
  // is not looked at: Triton's Python client sends none. So in this plugin (parsers are
  // encapsulated per plugin; other routes keep theirs) every body is read as bytes — metered
  // and decoded by registerBodyLimits first — and a type Fastify cannot even parse is dropped
  // rather than refused.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: deps.options.maxUploadBytes }, (_req, body, done) =>
    done(null, body),
  );
  app.addHook('onRequest', async (req) => {
    delete req.headers['content-type'];
  });

  const tags = ['oip'];
  app.get(
    '/v2',
    {
      schema: {
        tags,
        summary: 'Server metadata',
        response: {
          200: Type.Object({ name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) }),
        },
      },
    },
    async () => ({ name: 'loupe', version: deps.version, extensions: [...OIP_EXTENSIONS] }),
  );

  app.get(
    '/v2/health/live',
    { schema: { tags, summary: 'Server live', response: { 200: Type.Object({ live: Type.Boolean() }) } } },
    async () => ({ live: true }),
  );

  app.get(
    '/v2/health/ready',
    {
      schema: {
        tags,
        summary: 'Server ready (400 when not, as the spec says: 4xx means false)',
        response: { 200: ready(true), 400: ready(false) },
      },
    },
    async (_req, reply) => {
      const ok = deps.backend.readiness().ready;
      reply.code(ok ? 200 : 400);
      return { ready: ok };
    },
  );

  modelRoutes(app, deps);
  inferRoutes(app, deps);
  repositoryRoutes(app, deps);
  controlRoutes(app, deps);
};
