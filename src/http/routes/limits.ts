import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** What a client may send, as this server is configured: read once at start. */
export interface PublishedLimits {
  readonly maxJobImages: number;
  readonly maxUploadBytes: number;
  readonly maxJobBytes: number;
  /** 0: no limit (or the role applies none). */
  readonly ratePerMinute: number;
  readonly maxInflightPerClient: number;
}

/** Each published limit and the server's variable that sets it, so a refusal can name what to change. */
const VARIABLES = {
  max_job_images: 'LOUPE_MAX_JOB_IMAGES',
  max_upload_bytes: 'LOUPE_MAX_UPLOAD_BYTES',
  max_job_bytes: 'LOUPE_MAX_JOB_BYTES',
  rate_limit_per_minute: 'LOUPE_RATE_LIMIT_PER_MINUTE',
  max_inflight_per_client: 'LOUPE_MAX_INFLIGHT_PER_CLIENT',
} as const;

export const LimitsBody = Type.Object(
  {
    max_job_images: Type.Integer({ description: 'Images one POST /jobs may carry; more get 413 TOO_MANY_IMAGES.' }),
    max_upload_bytes: Type.Integer({ description: 'Bytes of one image (POST /predict, or one file of a job).' }),
    max_job_bytes: Type.Integer({ description: 'Bytes of one whole POST /jobs body.' }),
    rate_limit_per_minute: Type.Integer({ description: 'API requests per client and minute; 0: no limit.' }),
    max_inflight_per_client: Type.Integer({
      description: 'Inference requests one client may have in flight at once; 0: no limit.',
    }),
    variables: Type.Object(
      {
        max_job_images: Type.Literal(VARIABLES.max_job_images),
        max_upload_bytes: Type.Literal(VARIABLES.max_upload_bytes),
        max_job_bytes: Type.Literal(VARIABLES.max_job_bytes),
        rate_limit_per_minute: Type.Literal(VARIABLES.rate_limit_per_minute),
        max_inflight_per_client: Type.Literal(VARIABLES.max_inflight_per_client),
      },
      { description: 'The server environment variable each limit comes from.' },
    ),
  },
  {
    examples: [
      {
        max_job_images: 64,
        max_upload_bytes: 20971520,
        max_job_bytes: 268435456,
        rate_limit_per_minute: 6000,
        max_inflight_per_client: 64,
        variables: VARIABLES,
      },
    ],
  },
);
export type LimitsBody = Static<typeof LimitsBody>;

/**
 * GET /limits: the limits a client should split its work by (the page's Batch tab and
 * `loupe jobs submit` split a larger selection into several jobs), rather than learn them
 * from a refusal halfway through an upload. Not in GET /v2's server metadata: OIP's server
 * metadata has no parameters (neither in REST nor in gRPC's ServerMetadataResponse).
 */
export const limitsRoutes: FastifyPluginAsyncTypebox<{ limits: PublishedLimits }> = async (app, { limits }) => {
  const body: LimitsBody = {
    max_job_images: limits.maxJobImages,
    max_upload_bytes: limits.maxUploadBytes,
    max_job_bytes: limits.maxJobBytes,
    rate_limit_per_minute: limits.ratePerMinute,
    max_inflight_per_client: limits.maxInflightPerClient,
    variables: VARIABLES,
  };
  app.get(
    '/limits',
    {
      schema: {
        tags: ['jobs'],
        summary: "The server's job, upload and per-client limits",
        description:
          'Clients split a selection of more than `max_job_images` images into several jobs. Needs an API key when keys are required, as GET /models does.',
        response: { 200: LimitsBody },
      },
    },
    async () => body,
  );
};
