export { pullModel, type PullOptions, type PullResult } from './pull.ts';
export {
  pullAll,
  parseModelUris,
  modelUrisFromConfig,
  presentVersion,
  describeOutcome,
  type ModelUri,
  type UriOutcome,
} from './uris.ts';
export { parseSource, type Source } from './source.ts';
export { PRESETS } from './presets.ts';
export { progressRenderer, type ProgressSink, type ProgressEvent } from '../../terminal/index.ts';
export { PullError, formatBytes } from './errors.ts';
export type { EntryFlags } from './entry.ts';
