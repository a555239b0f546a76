import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../app.ts';

const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    reason: Type.Optional(Type.String()),
    models: Type.Array(Type.Object({ name: Type.String(), version: Type.String(), ready: Type.Boolean() })),
    skipped: Type.Array(
      Type.Object({
        name: Type.String(),
        version: Type.Optional(Type.String()),
        path: Type.String(),
        error: Type.String(),
      }),
      { description: 'Model store entries that are broken and were not loaded' },
    ),
  },
  { examples: [{ status: 'ready', models: [{ name: 'fashion-mnist', version: '1', ready: true }], skipped: [] }] },
);

export const healthRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { backend, readyChecks }) => {
  app.get(
    '/livez',
    {
      schema: {
        tags: ['health'],
        summary: 'The process is alive',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Every configured model is loaded (503 until then)',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_req, reply) => {
      const r = backend.readiness();
      const failed = r.ready
        ? (await Promise.all((readyChecks ?? []).map((c) => c()))).find((x) => x !== undefined)
        : undefined;
      const ready = r.ready && failed === undefined;
      const reason = r.reason ?? failed;
      reply.code(ready ? 200 : 503);
      return {
        status: ready ? ('ready' as const) : ('not_ready' as const),
        ...(reason ? { reason } : {}),
        models: [...r.models],
        skipped: r.problems.map((p) => ({
          name: p.name,
          path: p.path,
          error: p.error,
          ...(p.version ? { version: p.version } : {}),
        })),
      };
    },
  );
};
