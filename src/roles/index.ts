export type { RoleDeps } from './deps.ts';
export { ServeRole } from './serve.ts';
export { ModelServerRole } from './model-server.ts';
export { GatewayRole } from './gateway.ts';
export { WorkerRole } from './worker.ts';
export { runMigrate, writeSeed } from './migrate.ts';
export { configureProcess } from './process.ts';
