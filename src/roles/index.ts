export { ServeRole, type ServeDeps } from './serve.ts';
export { ModelServerRole } from './model-server.ts';
export { GatewayRole } from './gateway.ts';
export { WorkerRole } from './worker.ts';
export { runMigrate, writeSeed } from './migrate.ts';
