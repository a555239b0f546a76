import { Type } from 'typebox';
import { Value } from 'typebox/value';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../../../errors.ts';
import {
  HEADER_LENGTH,
  OIP_EXTENSIONS,
  decodeInferRequest,
  encodeInferResponse,
  type OipInferRequest,
} from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { oipModelMetadata } from '../../model-views.ts';
import { oipErrorResponses } from '../../schemas.ts';
import { InferRequestSchema, InferResponseSchema, ModelMetadataSchema } from './schemas.ts';

const ModelParams = Type.Object({ model: Type.String(), version: Type.Optional(Type.String()) });
const ready = (b: boolean) => Type.Object({ ready: Type.Literal(b) });

/** Open Inference Protocol v2 REST (kserve/open-inference-protocol, inference_rest.md). */
export const oipRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { backend, version }) => {
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
    async () => ({ name: 'loupe', version, extensions: [...OIP_EXTENSIONS] }),
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
      const ok = backend.readiness().ready;
      reply.code(ok ? 200 : 400);
      return { ready: ok };
    },
  );

  const metadata = async (req: FastifyRequest<{ Params: { model: string; version?: string } }>) =>
    oipModelMetadata(backend, backend.getModel(req.params.model, req.params.version));
  const metaSchema = {
    tags,
    summary: 'Model metadata',
    params: ModelParams,
    response: { 200: ModelMetadataSchema, ...oipErrorResponses(404) },
  };
  app.get('/v2/models/:model', { schema: metaSchema }, metadata);
  app.get('/v2/models/:model/versions/:version', { schema: metaSchema }, metadata);

  const modelReady = async (req: FastifyRequest<{ Params: { model: string; version?: string } }>) => {
    const m = backend.getModel(req.params.model, req.params.version);
    return { name: m.name, ready: true };
  };
  const readySchema = {
    tags,
    summary: 'Model ready',
    params: ModelParams,
    response: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }), ...oipErrorResponses(404) },
  };
  app.get('/v2/models/:model/ready', { schema: readySchema }, modelReady);
  app.get('/v2/models/:model/versions/:version/ready', { schema: readySchema }, modelReady);

  const infer = async (req: FastifyRequest<{ Params: { model: string; version?: string } }>, reply: FastifyReply) => {
    const request = parseInferBody(req);
    const res = await backend.infer(req.params.model, req.params.version, request);
    const { body, headerLength } = encodeInferResponse(res);
    if (headerLength !== undefined) {
      reply.header(HEADER_LENGTH, String(headerLength)).type('application/octet-stream');
    } else {
      reply.type('application/json; charset=utf-8');
    }
    return reply.send(body);
  };
  const inferSchema = {
    tags,
    summary: 'Inference',
    description:
      "FP32 tensors in JSON (flat or nested `data`), or — Loupe's `loupe_image_bytes` extension — an input of datatype BYTES whose elements are base64-encoded image files, " +
      "preprocessed by the model's own model.json. Binary tensor extension: send `Inference-Header-Content-Length` with an application/octet-stream body; ask for binary outputs with " +
      '`parameters.binary_data` on an output or `binary_data_output` on the request. Classification extension: `outputs: [{"name": "...", "parameters": {"classification": k}}]` returns "<score>:<index>:<label>" strings.',
    params: ModelParams,
    response: { 200: InferResponseSchema, ...oipErrorResponses(400, 404, 413, 429, 500, 503) },
  };
  const inferConfig = {
    openapiBody: {
      content: {
        'application/json': { schema: InferRequestSchema },
        'application/octet-stream': {
          schema: {
            type: 'string',
            format: 'binary',
            description: 'JSON inference header followed by binary tensor data',
          },
        },
      },
    },
  };
  app.post('/v2/models/:model/infer', { schema: inferSchema, config: inferConfig }, infer);
  app.post('/v2/models/:model/versions/:version/infer', { schema: inferSchema, config: inferConfig }, infer);
};

function parseInferBody(req: FastifyRequest): OipInferRequest {
  const headerLength = req.headers[HEADER_LENGTH];
  const body: unknown = Buffer.isBuffer(req.body)
    ? decodeInferRequest(req.body, Array.isArray(headerLength) ? headerLength[0] : headerLength)
    : req.body;
  if (body === undefined || body === null)
    throw new LoupeError(ErrorCode.EmptyBody, 'the inference request body is empty');
  const first = [...Value.Errors(InferRequestSchema, body)][0];
  if (first) {
    const where = first.instancePath || 'body';
    throw new LoupeError(ErrorCode.InvalidTensor, `malformed inference request: ${where} ${first.message}`);
  }
  return body as OipInferRequest;
}
