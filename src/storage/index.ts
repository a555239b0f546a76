export { openDatabase, type Database, type DatabaseOptions } from './db.ts';
export type { WhenInUse } from './pglite-owner.ts';
export { migrate } from './migrate.ts';
export { waitForSchema, waitForDatabase, schemaMissing, latestMigration } from './schema-wait.ts';
export { PredictionStore, type PredictionRecord, type ListQuery } from './predictions.ts';
export { JobStore, type JobView, type JobItemView, type JobStatus } from './jobs.ts';
export { jobFingerprint, type NewJob, type CreatedJob, type JobRequest } from './job-request.ts';
export { StagedJob, type JobSender } from './job-staging.ts';
export { IMAGE_PIECE_BYTES } from './job-images.ts';
