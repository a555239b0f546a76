import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;

export function openapiDocument(version: string): NonNullable<FastifyDynamicSwaggerOptions['openapi']> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Loupe',
      version,
      description:
        'Image classification over HTTP: upload a picture, an ONNX CNN runs, labels come back as JSON. ' +
        'Also speaks the Open Inference Protocol v2 (KServe / Triton REST) under /v2. ' +
        'Every error is `{"error": {"code", "message", "request_id"}}` (OIP routes: `{"error": "..."}`), ' +
        'and every response carries `X-Request-Id`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'predict', description: 'Classify images' },
      { name: 'models', description: 'The models this server has loaded' },
      { name: 'health', description: 'Liveness, readiness and metrics' },
      { name: 'jobs', description: 'Asynchronous classification of many images, with signed webhooks' },
      { name: 'history', description: 'Every prediction, recorded (not the image, unless LOUPE_STORE_IMAGES)' },
      {
        name: 'oip',
        description:
          'Open Inference Protocol v2 (KServe/Triton REST), with the binary tensor and classification extensions',
      },
    ],
  };
}

/**
 * Routes that stream their body (multipart/raw uploads) cannot let Fastify validate it, so
 * they declare the documented request body in `config.openapiBody`; this puts it into the
 * OpenAPI document without turning on validation.
 */
export const swaggerTransform: Transform = ({ schema, url, route }) => {
  const body = (route?.config as { openapiBody?: unknown } | undefined)?.openapiBody;
  if (!body) return { schema, url };
  return { schema: { ...schema, body } as typeof schema, url };
};
