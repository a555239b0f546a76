export { ServeRole, type ServeDeps } from './serve.ts';
