import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError } from '../../../errors.ts';
import { ReplicaControlError, type ControlResult } from '../../../inference/index.ts';
import type { AppDeps } from '../../app.ts';
import { sendError } from '../../errors.ts';
import type { OipApp } from './index.ts';
import { modelParams } from './examples.ts';

const Parameter = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);

export const ControlRequestSchema = Type.Object(
  {
    parameters: Type.Optional(
      Type.Record(Type.String(), Parameter, {
        description:
          'load: `config`, a Triton model config as a JSON string, may override max_batch_size, ' +
          'dynamic_batching.max_queue_delay_microseconds and dynamic_batching.default_queue_policy.max_queue_size ' +
          '(any other field is refused with 400); `file:<path>` is refused (no model bytes over the API). ' +
          "unload: Triton's `unload_dependents` is accepted and ignored.",
      }),
    ),
  },
  { examples: [{ parameters: { config: '{"max_batch_size": 8}' } }] },
);

const ReplicaSchema = Type.Object({
  replica: Type.String({ description: 'host:port of one model server' }),
  status: Type.Optional(Type.Literal('ok')),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

const ControlReportSchema = Type.Object(
  {
    replicas: Type.Optional(
      Type.Array(ReplicaSchema, { description: 'gateway only: each model server it fanned the call out to' }),
    ),
  },
  { examples: [{}, { replicas: [{ replica: '10.0.0.5:8000', status: 'ok' }] }] },
);

const ERROR_EXAMPLES: Readonly<Record<number, object>> = {
  400: {
    error:
      'explicit model load is not allowed: LOUPE_MODEL_CONTROL is poll (the server loads what the model store holds and watches it); set LOUPE_MODEL_CONTROL=explicit',
  },
  404: { error: 'failed to load "resnet50": no such model in the model store (failed to poll from model repository)' },
  503: {
    error: 'model server unreachable: connect ECONNREFUSED 10.0.0.6:8000',
    replicas: [
      { replica: '10.0.0.5:8000', status: 'ok' },
      { replica: '10.0.0.6:8000', error: { code: 'NOT_READY', message: 'model server unreachable: …' } },
    ],
  },
};

/** An error answer; from a gateway, with every replica's outcome. */
const ControlErrorSchema = (status: number) =>
  Type.Object(
    { error: Type.String(), replicas: Type.Optional(Type.Array(ReplicaSchema)) },
    {
      description: 'Open Inference Protocol error (from a gateway, with each replica’s outcome)',
      examples: [ERROR_EXAMPLES[status]],
    },
  );

/**
 * Triton's model repository extension, load and unload (admin scope). Whether they may change
 * anything is the backend's control mode (LOUPE_MODEL_CONTROL); the routes only translate.
 */
export function controlRoutes(app: OipApp, { backend, options }: AppDeps): void {
  const params = Type.Object({ model: modelParams(options.defaultModel).properties.model });
  const response = {
    200: ControlReportSchema,
    ...Object.fromEntries([400, 404, 503].map((s) => [s, ControlErrorSchema(s)])),
  };
  const body = { openapiBody: { content: { 'application/json': { schema: ControlRequestSchema } } } };
  const description =
    'Only with LOUPE_MODEL_CONTROL=explicit (otherwise 400 MODEL_CONTROL_DISABLED). Needs the admin scope. ' +
    'Behind a gateway, every model server is asked and the answer reports each one; 200 only when all succeeded.';

  app.post(
    '/v2/repository/models/:model/load',
    {
      schema: {
        tags: ['oip'],
        summary: 'Load or reload a model (every version in the store)',
        description: `${description} A model already loaded is reloaded: the new sessions serve before the old ones drain.`,
        params,
        response,
      },
      config: body,
    },
    async (req: FastifyRequest<{ Params: { model: string } }>, reply) => {
      const parameters = readParameters(req.body);
      return report(req, reply, () => backend.loadModel(req.params.model, parameters));
    },
  );

  app.post(
    '/v2/repository/models/:model/unload',
    {
      schema: {
        tags: ['oip'],
        summary: 'Unload a model (requests already admitted finish first)',
        description,
        params,
        response,
      },
      config: body,
    },
    async (req: FastifyRequest<{ Params: { model: string } }>, reply) => {
      const parameters = readParameters(req.body);
      return report(req, reply, () => backend.unloadModel(req.params.model, parameters));
    },
  );
}

type Body = Static<typeof ControlRequestSchema>;

/** The optional JSON body's parameters (the OIP plugin hands bodies over as bytes). */
function readParameters(raw: unknown): NonNullable<Body['parameters']> {
  if (!Buffer.isBuffer(raw) || raw.length === 0) return {};
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new LoupeError(ErrorCode.BadRequest, 'the request body is not valid JSON');
  }
  if (!Value.Check(ControlRequestSchema, body))
    throw new LoupeError(
      ErrorCode.BadRequest,
      'the request body must be a JSON object; "parameters" an object of strings, numbers or booleans',
    );
  return body.parameters ?? {};
}

/** The backend's report; a gateway's partial failure keeps its per-replica report in the error body. */
async function report(req: FastifyRequest, reply: FastifyReply, call: () => Promise<ControlResult>) {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof ReplicaControlError)) throw err;
    return sendError(err, req, reply, { replicas: err.replicas });
  }
}
