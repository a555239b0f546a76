export { ConfigSchema, type Config } from './schema/index.ts';
export { loadConfig, readSecret, ConfigError, isLoopbackHost } from './load.ts';
export { availableCpus } from './cpus.ts';
export { EXECUTION_PROVIDERS, PROVIDER_PATTERN, parseProviders, type ExecutionProvider } from './providers.ts';
