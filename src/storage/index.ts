export { openDatabase, type Database, type DatabaseOptions } from './db.ts';
export { migrate } from './migrate.ts';
export { PredictionStore, type PredictionRecord, type ListQuery } from './predictions.ts';
export { JobStore, type JobView, type JobItemView, type NewJob, type JobStatus } from './jobs.ts';
