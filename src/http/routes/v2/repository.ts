import { Value } from 'typebox/value';
import type { FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../../../errors.ts';
import { repositoryIndex } from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { oipErrorResponses } from '../../schemas.ts';
import type { OipApp } from './index.ts';
import { RepositoryIndexRequestSchema, RepositoryIndexSchema } from './triton-schemas.ts';

/** Triton's model repository extension: the index (load and unload are in control.ts). */
export function repositoryRoutes(app: OipApp, { backend }: AppDeps): void {
  app.post(
    '/v2/repository/index',
    {
      schema: {
        tags: ['oip'],
        summary: 'Model repository index',
        description:
          'Every version in the model store: READY when it serves; LOADING or UNLOADING during model control; ' +
          'UNAVAILABLE with the reason (the load error, "unloaded", "not loaded") otherwise. ' +
          'The body is optional; `{"ready": true}` lists only the ready ones.',
        response: { 200: RepositoryIndexSchema, ...oipErrorResponses(400) },
      },
      config: { openapiBody: { content: { 'application/json': { schema: RepositoryIndexRequestSchema } } } },
    },
    async (req) => repositoryIndex(backend, readyOnly(req)),
  );
}

function readyOnly(req: FastifyRequest): boolean {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0) return false;
  let body: unknown;
  try {
    body = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw new LoupeError(ErrorCode.BadRequest, 'the repository index request is not valid JSON');
  }
  if (!Value.Check(RepositoryIndexRequestSchema, body) || Array.isArray(body))
    throw new LoupeError(ErrorCode.BadRequest, 'the repository index request must be a JSON object; "ready" a boolean');
  return body.ready === true;
}
