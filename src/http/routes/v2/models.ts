import { Type } from 'typebox';
import type { FastifyRequest } from 'fastify';
import { oipModelMetadata, tritonModelConfig } from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { oipErrorResponses } from '../../schemas.ts';
import type { OipApp } from './index.ts';
import { modelParams } from './examples.ts';
import { ModelMetadataSchema } from './schemas.ts';
import { ModelConfigSchema, StatisticsSchema } from './triton-schemas.ts';

type ModelRequest = FastifyRequest<{ Params: { model: string; version?: string } }>;

/** Per-model OIP routes, each with and without `/versions/{v}` (without: the latest version). */
export function modelRoutes(app: OipApp, { backend, options }: AppDeps): void {
  const ModelParams = modelParams(options.defaultModel);
  const tags = ['oip'];
  const both = (suffix: string, schema: object, handler: (req: ModelRequest) => Promise<unknown>) => {
    app.get(`/v2/models/:model${suffix}`, { schema }, handler);
    app.get(`/v2/models/:model/versions/:version${suffix}`, { schema }, handler);
  };
  const errors = oipErrorResponses(404, 503);

  both(
    '',
    { tags, summary: 'Model metadata', params: ModelParams, response: { 200: ModelMetadataSchema, ...errors } },
    async (req) => oipModelMetadata(backend, backend.getModel(req.params.model, req.params.version)),
  );

  both(
    '/ready',
    {
      tags,
      summary: 'Model ready',
      params: ModelParams,
      response: { 200: Type.Object({ name: Type.String(), ready: Type.Boolean() }), ...errors },
    },
    async (req) => ({ name: backend.getModel(req.params.model, req.params.version).name, ready: true }),
  );

  both(
    '/config',
    {
      tags,
      summary: 'Model configuration (Triton)',
      description:
        "Triton's model configuration extension, as `tritonclient`'s `get_model_config()` reads it: `dims` leave out the batch dimension (max_batch_size > 0).",
      params: ModelParams,
      response: { 200: ModelConfigSchema, ...errors },
    },
    async (req) => tritonModelConfig(backend.getModel(req.params.model, req.params.version)),
  );

  const statsDescription =
    "Triton's statistics extension: per model version, requests that succeeded or failed and the time of each stage " +
    '(compute_input: decoding and preprocessing; queue: the dynamic batcher; compute_infer: ONNX Runtime; compute_output: scores and answer), ' +
    'samples inferred (inference_count), batched runs (execution_count) and per batch size. Without a version: every version of the model. ' +
    'On a gateway, the sum over every model server.';
  app.get(
    '/v2/models/stats',
    {
      schema: {
        tags,
        summary: 'Inference statistics of every model (Triton)',
        description: statsDescription,
        response: { 200: StatisticsSchema, ...errors },
      },
    },
    async () => ({ model_stats: await backend.statistics() }),
  );
  both(
    '/stats',
    {
      tags,
      summary: 'Inference statistics of a model (Triton)',
      description: statsDescription,
      params: ModelParams,
      response: { 200: StatisticsSchema, ...errors },
    },
    async (req) => ({ model_stats: await backend.statistics(req.params.model, req.params.version) }),
  );
}
