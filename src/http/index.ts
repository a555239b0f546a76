export { buildApp, type App, type AppDeps } from './app.ts';
// The API's bodies as types, for clients (the CLI) that speak it without loading the server.
export type { ModelBody } from './model-schemas.ts';
export type { PredictionBody } from './schemas.ts';
