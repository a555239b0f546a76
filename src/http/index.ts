export { buildApp, type App, type AppDeps } from './app.ts';
export { OIP_EXTENSIONS } from './routes/v2/index.ts';
