export { buildApp, type App, type AppDeps, type JobDeps } from './app.ts';
export type { HttpConnectionOptions, HttpOptions } from './options.ts';
// The API's bodies as types, for clients (the CLI) that speak it without loading the server.
export type { ModelBody } from './model-schemas.ts';
export type { PredictionBody } from './schemas.ts';
