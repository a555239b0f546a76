import { int, oneOf, UsageError } from '../flags.ts';
import { parseFlags } from '../parse-flags.ts';

export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** What every client command shares: where the server is, how to authenticate, what to ask for. */
export interface ClientOptions {
  readonly url: URL;
  /** Never printed: it goes into the Authorization header and nowhere else. */
  readonly key: string | undefined;
  readonly model: string | undefined;
  readonly version: string | undefined;
  readonly topK: number | undefined;
  readonly format: Format;
  /** Attempts of one request refused with 429/503 (or unreachable) before it counts as failed. */
  readonly retries: number;
}

const COMMON = {
  url: { type: 'string' },
  key: { type: 'string' },
  model: { type: 'string' },
  version: { type: 'string' },
  'top-k': { type: 'string' },
  format: { type: 'string' },
  retries: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Extra = Record<string, { type: 'string' | 'boolean' }>;

/** Strict parsing of a client command's arguments: an unknown flag or a bad value is a UsageError. */
export function parseClientArgs<E extends Extra>(argv: string[], extra: E, env: NodeJS.ProcessEnv) {
  const parsed = parseFlags(argv, { ...COMMON, ...extra });
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const str = (name: string) => v[name] as string | undefined;
  if (str('version') !== undefined && !/^\d+$/.test(str('version')!))
    throw new UsageError('--version must be a number');
  const retries = str('retries');
  if (retries !== undefined && !/^\d+$/.test(retries)) throw new UsageError('--retries must be 0 or more');
  const options: ClientOptions = {
    url: serverUrl(str('url') ?? env.LOUPE_URL ?? DEFAULT_URL),
    key: str('key') ?? (env.LOUPE_API_KEY || undefined),
    model: str('model'),
    version: str('version'),
    topK: int('top-k', str('top-k')),
    format: oneOf('format', str('format'), FORMATS) ?? 'table',
    retries: retries === undefined ? 5 : Number(retries),
  };
  return { options, positionals: parsed.positionals, values: v, help: v.help === true };
}

export function serverUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url must be an http(s) URL (got "${value}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be an http(s) URL (got "${value}")`);
  if (url.username || url.password)
    throw new UsageError('--url must not carry credentials: use --key or LOUPE_API_KEY');
  if (!url.pathname.endsWith('/')) url.pathname += '/'; // a server behind a path prefix: /loupe/ + predict
  return url;
}
