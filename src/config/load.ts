import { Value } from 'typebox/value';
import { ConfigError } from '../errors.ts';
import { parseProviders, readSecret } from './shared/index.ts';
import { ConfigSchema, type Config } from './schema/index.ts';
import { parseTracing } from './tracing.ts';

/** Roles that cannot run without a variable the schema leaves optional. */
const REQUIRED: Readonly<Record<string, readonly (keyof typeof ConfigSchema.properties)[]>> = {
  gateway: ['LOUPE_MODEL_SERVER_URL'],
  worker: ['LOUPE_MODEL_SERVER_URL'],
};

/**
 * Parses the environment once into a frozen, typed Config: every value checked, secret files
 * read, derived values computed. Throws ConfigError naming the variable, in one line.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Config> = {},
  opts: { role?: string } = {},
): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw)) as Record<string, unknown>;
  Object.assign(converted, overrides);
  const first = [...Value.Errors(ConfigSchema, converted)][0];
  if (first) {
    const name = first.instancePath.replace(/^\//, '') || 'environment';
    const given = raw[name] === undefined ? '' : ` (got ${JSON.stringify(raw[name])})`;
    throw new ConfigError(`invalid configuration: ${name} ${first.message}${given}`);
  }
  const c = converted as Omit<
    Config,
    'executionProviders' | 'webhookSecret' | 'databasePassword' | 'authRequired' | 'grpcPort' | 'tracing'
  >;
  for (const key of REQUIRED[opts.role ?? ''] ?? []) {
    if (!c[key]) throw new ConfigError(`invalid configuration: ${key} is required by \`loupe ${opts.role}\``);
  }
  if (c.LOUPE_REQUEST_TIMEOUT_MS > 0 && c.LOUPE_HEADERS_TIMEOUT_MS > c.LOUPE_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('invalid configuration: LOUPE_HEADERS_TIMEOUT_MS must not exceed LOUPE_REQUEST_TIMEOUT_MS');
  }
  const grpcPort = c.LOUPE_GRPC_PORT === 'off' ? undefined : Number(c.LOUPE_GRPC_PORT);
  if (grpcPort !== undefined && (grpcPort > 65535 || (grpcPort !== 0 && grpcPort === c.PORT))) {
    throw new ConfigError(
      `invalid configuration: LOUPE_GRPC_PORT must be a free port from 0 to 65535 other than PORT, or off (got "${c.LOUPE_GRPC_PORT}")`,
    );
  }
  const executionProviders = parseProviders(c.LOUPE_EXECUTION_PROVIDERS).filter(
    (p) => !c.LOUPE_REQUIRE_GPU || p !== 'cpu',
  );
  if (executionProviders.length === 0) {
    throw new ConfigError(
      'invalid configuration: LOUPE_REQUIRE_GPU is set but LOUPE_EXECUTION_PROVIDERS names no GPU provider',
    );
  }
  return Object.freeze({
    ...c,
    executionProviders: Object.freeze(executionProviders),
    grpcPort,
    webhookSecret: readSecret('LOUPE_WEBHOOK_SECRET_FILE', c.LOUPE_WEBHOOK_SECRET_FILE) ?? c.LOUPE_WEBHOOK_SECRET,
    databasePassword: readSecret('LOUPE_DATABASE_PASSWORD_FILE', c.LOUPE_DATABASE_PASSWORD_FILE),
    authRequired: c.LOUPE_AUTH === 'required' || (c.LOUPE_AUTH === 'auto' && !isLoopbackHost(c.HOST)),
    tracing: parseTracing(c),
  });
}

/** Whether HOST only takes connections from this machine (then `LOUPE_AUTH=auto` needs no keys). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
