import type { Server } from 'node:http';
import type { Config } from '../config/index.ts';

/**
 * Node's HTTP server limits for slow clients, as Fastify options: the headers must arrive
 * within LOUPE_HEADERS_TIMEOUT_MS (slowloris), the whole request within LOUPE_REQUEST_TIMEOUT_MS
 * (a body dribbled forever would hold its share of the upload budget), and an idle keep-alive
 * connection is closed after LOUPE_KEEP_ALIVE_TIMEOUT_MS. A late request gets 408
 * (clientErrorHandler) and its connection is closed.
 */
export function serverOptions(config: Config) {
  const timeouts = [config.LOUPE_HEADERS_TIMEOUT_MS, config.LOUPE_REQUEST_TIMEOUT_MS].filter((t) => t > 0);
  return {
    requestTimeout: config.LOUPE_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.LOUPE_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: config.LOUPE_HEADERS_TIMEOUT_MS,
      requestTimeout: config.LOUPE_REQUEST_TIMEOUT_MS,
      // Node looks for late requests on this interval (30 s by default), so a timeout fires up to
      // one interval late: look at a quarter of the shortest timeout, at most every second.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(...timeouts) / 4))),
    },
  };
}

/** LOUPE_MAX_CONNECTIONS: past it, Node closes new connections at once (each costs memory and a descriptor). */
export function limitConnections(server: Server, config: Config): void {
  if (config.LOUPE_MAX_CONNECTIONS > 0) server.maxConnections = config.LOUPE_MAX_CONNECTIONS;
}
