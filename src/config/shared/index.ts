// What any floor may import from src/config: the env-named Config and loadConfig (index.ts)
// are for the roles and the CLI only (.dependency-cruiser.mjs, config-stays-with-the-roles).
export { readSecret } from './secret.ts';
export {
  EXECUTION_PROVIDERS,
  PROVIDER_LIST_PATTERN,
  PROVIDER_PATTERN,
  parseProviders,
  type ExecutionProvider,
} from './providers.ts';
