import { Value } from 'typebox/value';
import { ConfigSchema, type Config } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once into a frozen, typed Config; throws ConfigError naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
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
  return Object.freeze(converted as Config);
}
