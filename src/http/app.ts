import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Admission } from '../admission/index.ts';
import { registerAuth, type KeyVerifier } from '../auth/index.ts';
import { requestIdFrom, trustProxy } from '../clients/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { InferenceBackend } from '../inference/index.ts';
import { MAX_NAME_LENGTH } from '../models/index.ts';
import { NOOP_TRACING, type Logger, type Metrics, type Tracing } from '../observability/index.ts';
import type { WebhookPolicy } from '../jobs/index.ts';
import type { JobStore, PredictionStore } from '../storage/index.ts';
import type { PgBoss } from 'pg-boss';
import { openapiDocument, swaggerTransform } from './openapi.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { modelRoutes } from './routes/models.ts';
import { predictRoutes } from './routes/predict.ts';
import { oipRoutes } from './routes/v2/index.ts';
import { ErrorBody, OipErrorBody } from './schemas.ts';
import { sendError } from './errors.ts';
import { registerClientLimits } from './rate-limit.ts';
import { registerBodyLimits } from './body-limits.ts';
import { registerMultipart } from './multipart.ts';
import { registerStrictQueryIntegers } from './query-integers.ts';
import { requestLogHook } from './request-log.ts';
import { registerTracing } from './tracing.ts';
import type { HttpOptions } from './options.ts';
import { limitConnections, serverOptions } from './server-options.ts';
import { clientErrorHandler, frameworkErrors } from './client-errors.ts';
import { docsCsp, helmetOptions } from './security-headers.ts';
import { webRoutes } from './web.ts';
import type { KeyAdmin } from './routes/keys.ts';
import type { PublishedLimits } from './routes/limits.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Request body for the OpenAPI document of a route that reads its body itself. */
    openapiBody?: unknown;
  }
}

/** Async jobs: the store and queue, and where their webhooks may go. */
export interface JobDeps {
  readonly store: JobStore;
  readonly boss: PgBoss;
  readonly webhooksEnabled: boolean;
  /** The role's one policy, shared with its webhook deliveries. */
  readonly webhookPolicy: WebhookPolicy;
}

export interface AppDeps {
  readonly options: HttpOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** OTEL_* tracing: a server span per request, the handler's spans under it. */
  readonly tracing?: Tracing | undefined;
  readonly backend: InferenceBackend;
  readonly version: string;
  /** Prediction history; absent on roles without a database (model-server). */
  readonly history?: PredictionStore | undefined;
  /** Async jobs; absent on roles without a database. */
  readonly jobs?: JobDeps | undefined;
  /**
   * The role's admission rules (upload budget, rate floor, failed keys, per-client limits),
   * shared with its gRPC API so a client has one allowance whichever it calls.
   */
  readonly admission: Admission;
  /** API keys: present, every route but the open ones (health, metrics, docs) needs one (LOUPE_AUTH). */
  readonly auth?: KeyVerifier | undefined;
  /** Key management over HTTP (POST/GET/DELETE /keys, admin scope): the roles that own the key store. */
  readonly keys?: KeyAdmin | undefined;
  /** 'ops' serves only health and metrics (the worker role). */
  readonly surface?: 'api' | 'ops' | undefined;
  /** Extra readiness conditions of the role (database reachable, …). */
  readonly readyChecks?: ReadonlyArray<() => Promise<string | undefined>> | undefined;
}

export type App = FastifyInstance<any, any, any, Logger, TypeBoxTypeProvider>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * The router's limit on a path parameter, as sent (%-escaped): room for the longest model name
 * (MAX_NAME_LENGTH characters of up to 4 UTF-8 bytes, each escaped as %XX), so a name is
 * judged by the core's rule (NAME_TOO_LONG), as over gRPC, not by Fastify's default of 100.
 */
const MAX_PARAM_LENGTH = 12 * MAX_NAME_LENGTH;

/** Builds the HTTP API over whichever inference backend the role chose. */
export async function buildApp(deps: AppDeps): Promise<App> {
  const { options, logger, metrics } = deps;
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's two lines per request (received, completed) become one: requestLogHook.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxUploadBytes,
    ...serverOptions(options.connections),
    requestIdHeader: false,
    genReqId: (req) => requestIdFrom(req.headers['x-request-id']),
    trustProxy: trustProxy(options.connections.trustProxy),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler,
    frameworkErrors,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true } },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  }).withTypeProvider<TypeBoxTypeProvider>();
  limitConnections(app.server, options.connections);

  app.addSchema(ErrorBody);
  app.addSchema(OipErrorBody);

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', requestLogHook(metrics));
  // Before every route (it wraps their handlers) and before auth (a refusal is in the trace too).
  registerTracing(app as unknown as FastifyInstance, deps.tracing ?? NOOP_TRACING);
  registerStrictQueryIntegers(app as unknown as FastifyInstance);
  app.setErrorHandler((err, req, reply) => sendError(err as Error, req, reply));
  app.setNotFoundHandler((req, reply) =>
    sendError(new LoupeError(ErrorCode.NotFound, `no route ${req.method} ${req.url.split('?')[0]}`), req, reply),
  );

  await app.register(helmet, helmetOptions);
  // Answers of 1 KiB and more are compressed for clients that ask (Accept-Encoding). Request
  // bodies are decoded by registerBodyLimits instead, which meters the decoded bytes.
  await app.register(compress, {
    threshold: 1024,
    encodings: ['br', 'gzip', 'deflate'],
    globalDecompression: false,
  });
  // Every body is metered (route limits, upload budget) before a parser reads it.
  registerBodyLimits(app as unknown as FastifyInstance, {
    maxBytes: options.maxUploadBytes,
    budget: deps.admission.budget,
    rateFloor: deps.admission.rateFloor,
  });
  registerMultipart(app as unknown as FastifyInstance);
  for (const type of [/^image\//, 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: options.maxUploadBytes }, (_req, body, done) =>
      done(null, body),
    );
  }

  // auth first: rate limits and fairness key on req.principal
  registerAuth(app as unknown as FastifyInstance, deps.auth, deps.admission.failures);
  // After authentication (limits key on the API key), before the routes they apply to.
  if (deps.admission.clientLimits)
    await registerClientLimits(app as unknown as FastifyInstance, deps.admission.clientLimits);

  const api = deps.surface !== 'ops';
  // Swagger first: it documents the routes registered after it.
  if (api)
    await app.register(swagger, {
      openapi: openapiDocument(deps.version, { auth: deps.auth !== undefined }),
      transform: swaggerTransform({ auth: deps.auth !== undefined }),
    });
  await app.register(healthRoutes, deps);
  await app.register(metricsRoutes, deps);
  if (!api) return app as unknown as App;

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: docsCsp,
    uiConfig: { docExpansion: 'list', deepLinking: true, tryItOutEnabled: true },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // The page needs history and jobs: `serve` and `gateway` have them, a model server does not.
  if (deps.history && deps.jobs) await app.register(webRoutes, {});

  await app.register(predictRoutes, deps);
  await app.register(modelRoutes, deps);
  await app.register(oipRoutes, deps);
  // Loaded only by the roles with a database: a model server never maps the queue and storage code.
  if (deps.history)
    await app.register((await import('./routes/history.ts')).historyRoutes, { ...deps, history: deps.history });
  if (deps.jobs) {
    await app.register((await import('./routes/jobs.ts')).jobRoutes, { ...deps, jobs: deps.jobs });
    await app.register((await import('./routes/limits.ts')).limitsRoutes, { limits: publishedLimits(options, deps) });
  }
  if (deps.keys) await app.register((await import('./routes/keys.ts')).keyRoutes, { keys: deps.keys, auth: deps.auth });
  return app as unknown as App;
}

/** What GET /limits says: the client limits only where the role applies them (serve, gateway). */
function publishedLimits(options: HttpOptions, deps: Pick<AppDeps, 'admission'>): PublishedLimits {
  const limits = deps.admission.clientLimits;
  return {
    maxJobImages: options.jobs.maxImages,
    maxUploadBytes: options.maxUploadBytes,
    maxJobBytes: options.jobs.maxBytes,
    ratePerMinute: limits?.perMinute ?? 0,
    maxInflightPerClient: limits?.maxInFlight ?? 0,
  };
}
