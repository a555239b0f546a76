import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** LOUPE_LOG_FORMAT: JSON lines, one pretty line per entry, or pretty only when a person watches a TTY. */
export type LogFormat = 'json' | 'pretty' | 'auto';

/**
 * API keys travel in these headers. Loupe logs no request headers today; this keeps a key out
 * of the log should a request, its headers or an error carrying them ever be logged.
 */
const KEY_HEADERS = ['authorization', '["x-api-key"]'];
const REDACT = KEY_HEADERS.flatMap((h) => [
  `req.headers.${h}`,
  `headers.${h}`,
  `*.headers.${h}`,
  `*.*.headers.${h}`,
]).map((p) => p.replace('.[', '['));

/**
 * Fastify logs "Server listening at <url>" once per interface address as it binds; each role
 * logs one "loupe <role> listening on …" line of its own once it is up (with its readiness), so
 * Fastify's lines are dropped here rather than doubling, or with HOST=0.0.0.0 multiplying, it.
 */
const FASTIFY_LISTENING = 'Server listening at ';

/** Structured JSON logs; one human-readable line per entry when asked, or on a TTY by default. */
export function createLogger(
  level: string,
  opts: { format?: LogFormat; pretty?: boolean; destination?: pino.DestinationStream } = {},
): Logger {
  const format = opts.format ?? (opts.pretty === undefined ? 'auto' : opts.pretty ? 'pretty' : 'json');
  const base: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        if (typeof args[0] === 'string' && args[0].startsWith(FASTIFY_LISTENING)) return;
        method.apply(this, args);
      },
    },
  };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  // pino-pretty runs in pino's transport thread: loaded there, and only when used.
  if (pretty && hasPinoPretty())
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: {
          colorize: process.stdout.isTTY === true,
          translateTime: 'SYS:HH:MM:ss.l',
          singleLine: true,
          ignore: 'pid,hostname',
        },
      },
    });
  return pino(base);
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false; // an install without it stays on JSON
  }
}
