export { openDatabase, type Database, type DatabaseOptions } from './db.ts';
export { migrate } from './migrate.ts';
export { PredictionStore, type PredictionRecord, type ListQuery } from './predictions.ts';
export { JobStore, type JobView, type JobItemView, type JobStatus } from './jobs.ts';
export { jobFingerprint, type NewJob, type CreatedJob } from './job-request.ts';
