import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import { accessFor } from '../auth/index.ts';
import { errorResponse, oipErrorResponse } from './schemas.ts';

type Transform = NonNullable<FastifyDynamicSwaggerOptions['transform']>;

export function openapiDocument(
  version: string,
  opts: { auth: boolean } = { auth: false },
): NonNullable<FastifyDynamicSwaggerOptions['openapi']> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Loupe',
      version,
      description:
        'Image classification over HTTP: upload a picture, an ONNX CNN runs, labels come back as JSON. ' +
        'Also speaks the Open Inference Protocol v2 (KServe / Triton REST) under /v2. ' +
        'Every error is `{"error": {"code", "message", "request_id"}}` (OIP routes: `{"error": "..."}`), ' +
        'and every response carries `X-Request-Id`.' +
        (opts.auth
          ? ' Requests carry an API key (`Authorization: Bearer <key>` or `X-API-Key`); the scopes a route needs are listed with its security requirement.'
          : ''),
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
    ...(opts.auth ? { components: { securitySchemes: SECURITY_SCHEMES } } : {}),
  };
}

const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer lp_…`' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'The same API key in `X-API-Key`' },
} as const;

/**
 * Routes that stream their body (multipart/raw uploads) cannot let Fastify validate it, so
 * they declare the documented request body in `config.openapiBody`; this puts it into the
 * OpenAPI document without turning on validation. With auth on, it adds each route's
 * security requirement (the scopes it needs, from the auth policy) and its 401/403 answers.
 */
export const swaggerTransform =
  (opts: { auth: boolean }): Transform =>
  ({ schema, url, route }) => {
    const body = (route?.config as { openapiBody?: unknown } | undefined)?.openapiBody;
    const access = opts.auth ? accessFor([route?.method ?? 'GET'].flat()[0]!, url) : 'open';
    if (!body && access === 'open') return { schema, url };
    const out: Record<string, unknown> = { ...schema, ...(body ? { body } : {}) };
    if (access !== 'open') {
      const scopes = access === 'key' ? [] : [...access];
      const error = url === '/v2' || url.startsWith('/v2/') ? oipErrorResponse : errorResponse;
      out.security = [{ bearer: scopes }, { apiKey: scopes }];
      out.response = {
        ...(schema.response as object | undefined),
        401: error(401),
        ...(scopes.length ? { 403: error(403) } : {}),
      };
    }
    return { schema: out as typeof schema, url };
  };

/** An optional multipart text field; an empty one counts as not given. `example` is what /docs pre-fills. */
export const formField = (description: string, example: string | number) => ({
  type: typeof example === 'number' ? 'integer' : 'string',
  description: `${description} Optional: leave it empty for the default.`,
  example,
});
