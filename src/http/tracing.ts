import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { TraceSpan, Tracing } from '../observability/index.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's server span (tracing on), or what its `traceparent` names (off): its log line's trace id. */
    traceSpan?: TraceSpan | undefined;
  }
}

/**
 * One server span per request, under the caller's W3C `traceparent`/`tracestate`, with the
 * HTTP semantic-convention attributes; each handler runs with it active, so the backend's spans
 * and its outgoing calls are its children; `loupe.receive` times the body as it arrives. Off,
 * only an incoming `traceparent`'s trace id is kept, for the log line.
 */
export function registerTracing(app: FastifyInstance, tracing: Tracing): void {
  if (!tracing.enabled) {
    // Tracing's off span carries the trace id a traceparent names, as a gRPC call's does.
    app.addHook('onRequest', async (req) => {
      if (req.headers.traceparent) req.traceSpan = tracing.start(req.method, { carrier: req.headers });
    });
    return;
  }
  app.addHook('onRequest', async (req) => {
    const route = req.routeOptions.url;
    req.traceSpan = tracing.start(route ? `${req.method} ${route}` : req.method, {
      kind: 'server',
      carrier: req.headers,
      attributes: {
        'http.request.method': req.method,
        'http.route': route,
        'url.path': req.url.split('?')[0],
        'url.scheme': req.protocol,
        'client.address': req.ip,
        'user_agent.original': req.headers['user-agent'],
        'loupe.request_id': req.id,
      },
    });
  });
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.method === 'GET' || req.method === 'HEAD') return payload;
    const span = tracing.start('loupe.receive', { parent: req.traceSpan });
    let open = true;
    // Listening for the end does not start the stream flowing: whoever reads the body still does.
    const done = (err?: Error) => {
      if (!open) return;
      open = false;
      if (err) span.fail(err);
      span.end();
    };
    payload.once('end', () => done());
    payload.once('error', done);
    payload.once('close', () => done());
    return payload;
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (this: unknown, req: FastifyRequest, reply: FastifyReply) => unknown;
    route.handler = function (this: unknown, req: FastifyRequest, reply: FastifyReply) {
      return tracing.within(req.traceSpan, () => handler.call(this, req, reply));
    } as RouteHandlerMethod;
  });
  const ended = new WeakSet<FastifyRequest>();
  const end = (req: FastifyRequest, status: number | undefined) => {
    const span = req.traceSpan;
    if (!span || ended.has(req)) return;
    ended.add(req);
    const failure = req.loupeError;
    span.set({ 'http.response.status_code': status, 'loupe.error.code': failure?.error.code });
    // As the semantic conventions say for a server: a 4xx is the client's error, not the span's.
    if (status === undefined || status >= 500) span.fail(failure?.original ?? new Error(`HTTP ${status ?? 'aborted'}`));
    span.end();
  };
  app.addHook('onResponse', async (req, reply) => end(req, reply.statusCode));
  app.addHook('onRequestAbort', async (req) => end(req, undefined));
}
