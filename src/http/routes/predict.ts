import { randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ownerOf } from '../../auth/index.ts';
import type { AppDeps } from '../app.ts';
import { formField } from '../openapi.ts';
import { noteForLog } from '../request-log.ts';
import { PredictionBody, errorResponses } from '../schemas.ts';
import { MULTIPART_SLACK, parseMetadata, readUpload } from '../upload.ts';

const binaryImage = { schema: { type: 'string', format: 'binary' } };

/** The query of /predict; the examples are real values for this server, so "Try it out" works as loaded. */
export const predictQuery = (defaultModel: string) =>
  Type.Object({
    top_k: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'How many labels to return (1..number of classes); default 5 or the number of classes if fewer',
        examples: [3],
      }),
    ),
    model: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Model name (default: the configured default model)',
        examples: [defaultModel],
      }),
    ),
    version: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'Model version (default: the latest)' })),
  });

export const predictRoutes: FastifyPluginAsyncTypebox<AppDeps> = async (app, { backend, options, history }) => {
  const { maxUploadBytes, maxPixels } = options;
  app.post(
    '/predict',
    {
      schema: {
        tags: ['predict'],
        summary: 'Classify one image',
        description:
          'Send the image as multipart/form-data field `file` (`curl -F file=@photo.jpg`) or as a raw `image/*` body. ' +
          'The format is detected from the bytes (JPEG, PNG, WebP, GIF, TIFF, AVIF); SVG and other vector formats are refused with 415. ' +
          `Uploads above ${maxUploadBytes} bytes get 413, images above ${maxPixels} pixels 422, and a full queue 503 with Retry-After.`,
        querystring: predictQuery(options.defaultModel),
        response: { 200: PredictionBody, ...errorResponses(400, 404, 413, 415, 422, 429, 500, 503) },
      },
      config: {
        // The whole body is held until it is classified: all of it counts against the upload budget.
        bodyLimits: { max: maxUploadBytes + MULTIPART_SLACK },
        openapiBody: {
          content: {
            'multipart/form-data': {
              schema: {
                type: 'object',
                required: ['file'],
                properties: {
                  file: { type: 'string', format: 'binary', description: 'The image' },
                  metadata: formField(
                    'A JSON object of strings, recorded with the prediction.',
                    '{"source": "try-it-out"}',
                  ),
                },
              },
            },
            'image/jpeg': binaryImage,
            'image/png': binaryImage,
            'image/webp': binaryImage,
            'application/octet-stream': binaryImage,
          },
        },
      },
      preValidation: async (req) => {
        // Overloaded: refuse before reading (and paying for) the upload.
        backend.checkCapacity(req.query.model, req.query.version);
      },
    },
    async (req) => {
      const upload = await readUpload(req, maxUploadBytes);
      const metadata = parseMetadata(upload.fields.metadata);
      const result = await backend.classify({
        model: req.query.model,
        version: req.query.version,
        image: upload.bytes,
        topK: req.query.top_k,
      });
      const id = randomUUID();
      noteForLog(req, { model: result.model.name, version: result.model.version, prediction_id: id });
      if (history) await history.record(result, upload.bytes, { metadata, id, owner: ownerOf(req), requestId: req.id });
      return { id, ...result };
    },
  );
};
