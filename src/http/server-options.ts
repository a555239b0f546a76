import type { Server } from 'node:http';
import type { HttpConnectionOptions } from './options.ts';

/**
 * Node's HTTP server limits for slow clients, as Fastify options: the headers must arrive
 * within LOUPE_HEADERS_TIMEOUT_MS (slowloris), the whole request within LOUPE_REQUEST_TIMEOUT_MS
 * (a body dribbled forever would hold its share of the upload budget), and an idle keep-alive
 * connection is closed after LOUPE_KEEP_ALIVE_TIMEOUT_MS. A late request gets 408
 * (clientErrorHandler) and its connection is closed.
 */
export function serverOptions(opts: HttpConnectionOptions) {
  const timeouts = [opts.headersTimeoutMs, opts.requestTimeoutMs].filter((t) => t > 0);
  return {
    requestTimeout: opts.requestTimeoutMs,
    keepAliveTimeout: opts.keepAliveTimeoutMs,
    http: {
      headersTimeout: opts.headersTimeoutMs,
      requestTimeout: opts.requestTimeoutMs,
      // Node looks for late requests on this interval (30 s by default), so a timeout fires up to
      // one interval late: look at a quarter of the shortest timeout, at most every second.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(...timeouts) / 4))),
    },
  };
}

/** LOUPE_MAX_CONNECTIONS: past it, Node closes new connections at once (each costs memory and a descriptor). */
export function limitConnections(server: Server, opts: Pick<HttpConnectionOptions, 'maxConnections'>): void {
  if (opts.maxConnections > 0) server.maxConnections = opts.maxConnections;
}
