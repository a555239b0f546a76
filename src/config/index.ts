export { ConfigSchema, type Config } from './schema/index.ts';
export type { TracingConfig } from './tracing.ts';
export { loadConfig, isLoopbackHost } from './load.ts';
export { availableCpus } from './cpus.ts';
export { ConfigError } from '../errors.ts';
export {
  EXECUTION_PROVIDERS,
  PROVIDER_PATTERN,
  parseProviders,
  readSecret,
  type ExecutionProvider,
} from './shared/index.ts';
