import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

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

/** Structured JSON logs; human-readable only when a person is watching a TTY. */
export function createLogger(
  level: string,
  opts: { pretty?: boolean; destination?: pino.DestinationStream } = {},
): Logger {
  const pretty = opts.pretty ?? (process.stdout.isTTY === true && hasPinoPretty());
  const base = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (pretty)
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } },
    });
  return pino(base);
}

function hasPinoPretty(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false; // production images ship without dev dependencies: stay on JSON
  }
}
