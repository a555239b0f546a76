import { Value } from 'typebox/value';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../../../errors.ts';
import {
  HEADER_LENGTH,
  decodeInferRequest,
  encodeInferResponse,
  type OipInferRequest,
} from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { noteForLog } from '../../request-log.ts';
import { oipErrorResponses } from '../../schemas.ts';
import type { OipApp } from './index.ts';
import { modelParams } from './examples.ts';
import { InferRequestSchema, InferResponseSchema } from './schemas.ts';

/** `POST /v2/models/{m}[/versions/{v}]/infer`: JSON, or JSON header + binary tensors. */
export function inferRoutes(app: OipApp, { backend, options }: AppDeps): void {
  const infer = async (req: FastifyRequest<{ Params: { model: string; version?: string } }>, reply: FastifyReply) => {
    const request = parseInferBody(req);
    const res = await backend.infer(req.params.model, req.params.version, request);
    noteForLog(req, { model: res.model_name, ...(res.model_version ? { version: res.model_version } : {}) });
    const { body, headerLength } = encodeInferResponse(res);
    if (headerLength !== undefined) {
      reply.header(HEADER_LENGTH, String(headerLength)).type('application/octet-stream');
    } else {
      reply.type('application/json; charset=utf-8');
    }
    return reply.send(body);
  };
  const schema = {
    tags: ['oip'],
    summary: 'Inference',
    description:
      "FP32 tensors in JSON (flat or nested `data`), or — Loupe's `loupe_image_bytes` extension — an input of datatype BYTES whose elements are base64-encoded image files, " +
      "preprocessed by the model's own model.json. Binary tensor extension: send `Inference-Header-Content-Length` (the JSON header's bytes) with the binary tensors after the header; ask for binary outputs with " +
      '`parameters.binary_data` on an output or `binary_data_output` on the request. Classification extension: `outputs: [{"name": "...", "parameters": {"classification": k}}]` returns "<score>:<index>:<label>" strings (the score as C\'s `%f`, as Triton prints it). ' +
      "As in Triton, the Content-Type is not looked at (none, as Triton's Python client sends, is fine): `Inference-Header-Content-Length` alone says whether binary data follows. " +
      'The body may be gzip- or deflate-encoded (`Content-Encoding`); answers of 1 KiB and more are compressed when `Accept-Encoding` asks. ' +
      'When an image input is far from what the model was trained on (a colour photo into a grayscale model, say), the response `parameters.loupe_warnings` is a JSON string: an array of `{"image": <index in the input>, "code", "message"}`, as `warnings` in `POST /predict`.',
    params: modelParams(options.defaultModel),
    response: { 200: InferResponseSchema, ...oipErrorResponses(400, 404, 413, 415, 429, 500, 503) },
  };
  const config = {
    openapiBody: {
      content: {
        // Its first example (INFER_EXAMPLE) is what "Try it out" sends: an image of the bundled model's domain.
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
  app.post('/v2/models/:model/infer', { schema, config }, infer);
  app.post('/v2/models/:model/versions/:version/infer', { schema, config }, infer);
}

function parseInferBody(req: FastifyRequest): OipInferRequest {
  if (!Buffer.isBuffer(req.body) || req.body.length === 0)
    throw new LoupeError(ErrorCode.EmptyBody, 'the inference request body is empty');
  const headerLength = req.headers[HEADER_LENGTH];
  const body: unknown = decodeInferRequest(req.body, Array.isArray(headerLength) ? headerLength[0] : headerLength);
  if (body === undefined || body === null)
    throw new LoupeError(ErrorCode.EmptyBody, 'the inference request body is empty');
  const first = [...Value.Errors(InferRequestSchema, body)][0];
  if (first) {
    const where = first.instancePath || 'body';
    throw new LoupeError(ErrorCode.InvalidTensor, `malformed inference request: ${where} ${first.message}`);
  }
  return body as OipInferRequest;
}
