// What a command shows on a terminal while it works: progress lines and byte counts. A leaf, so
// the CLI client and `loupe models pull` share it without loading each other's code.
export { formatBytes } from './bytes.ts';
export { progressRenderer, type ProgressEvent, type ProgressOptions, type ProgressSink } from './progress.ts';
