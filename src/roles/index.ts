import type * as Migrate from './migrate.ts';
export type { RoleDeps } from './deps.ts';
export type { ServeRole } from './serve.ts';
export type { ModelServerRole } from './model-server.ts';
export type { GatewayRole } from './gateway.ts';
export type { WorkerRole } from './worker.ts';
export { configureProcess } from './process.ts';
export { openTracing } from './tracing.ts';

export type RoleName = 'serve' | 'gateway' | 'model-server' | 'worker';

/**
 * A role's class, its module loaded alone: memory is what a replica costs, and a gateway or
 * worker that imported every role would map ONNX Runtime and libvips it never runs.
 */
export async function loadRole(name: RoleName) {
  // (`runMigrate` and `writeSeed` are loaded the same way: a model server never maps the
  // database and queue code.)
  switch (name) {
    case 'serve':
      return (await import('./serve.ts')).ServeRole;
    case 'gateway':
      return (await import('./gateway.ts')).GatewayRole;
    case 'model-server':
      return (await import('./model-server.ts')).ModelServerRole;
    case 'worker':
      return (await import('./worker.ts')).WorkerRole;
  }
}

/** `loupe migrate`: the schema, then exit. */
export const runMigrate = async (...args: Parameters<typeof Migrate.runMigrate>) =>
  (await import('./migrate.ts')).runMigrate(...args);

/** `loupe migrate --write-seed FILE`. */
export const writeSeed = async (...args: Parameters<typeof Migrate.writeSeed>) =>
  (await import('./migrate.ts')).writeSeed(...args);
