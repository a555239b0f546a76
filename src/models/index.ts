export { ModelConfigSchema, DEFAULT_BATCHING, type ModelConfig } from './schema.ts';
export { scanStore, readEntry, readSample, type ModelEntry, type StoreProblem, type StoreScan } from './store.ts';
export { checkSession, type SessionShape } from './validate.ts';
export { SAMPLE_NAME, type ModelCard } from './card.ts';
export { MAX_VERSION, VERSION_RULE, parseVersion, isOutOfRangeVersion } from './version.ts';
export { PRESETS } from './pull/presets.ts';
export { MAX_NAME_LENGTH } from './store.ts';
