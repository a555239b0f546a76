export { ConfigSchema, type Config, type ConfigKey } from './schema.ts';
export { loadConfig, ConfigError } from './load.ts';
export { availableCpus } from './cpus.ts';
