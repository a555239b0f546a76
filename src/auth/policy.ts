import type { Scope } from './principal.ts';

/**
 * What a route needs: 'open' (no key), 'key' (any valid key) or a key with one of the listed
 * scopes; `admin` passes every check. One table for the whole API, so the rules can be read
 * (and reviewed) in one place; a route missing from it needs `admin` (fail closed).
 */
export type Access = 'open' | 'key' | readonly Scope[];

const RULES: Readonly<Record<string, Access>> = {
  // Probes and scrapers carry no keys; the proxy does not publish /metrics.
  'GET /livez': 'open',
  'GET /readyz': 'open',
  'GET /metrics': 'open',
  'GET /v2/health/live': 'open',
  'GET /v2/health/ready': 'open',
  // The API description is public, so /docs can offer "Authorize".
  'GET /openapi.json': 'open',
  // The web page and its assets: the page asks for a key itself and sends it with its API calls.
  'GET /': 'open',
  'GET /assets/*': 'open',
  // What is served: any valid key.
  'GET /models': 'key',
  'GET /models/:name': 'key',
  'GET /models/:name/samples/:file': 'key',
  'GET /limits': 'key',
  'GET /v2': 'key',
  'GET /v2/models/:model': 'key',
  'GET /v2/models/:model/versions/:version': 'key',
  'GET /v2/models/:model/ready': 'key',
  'GET /v2/models/:model/versions/:version/ready': 'key',
  'GET /v2/models/:model/config': 'key',
  'GET /v2/models/:model/versions/:version/config': 'key',
  'GET /v2/models/stats': 'key',
  'GET /v2/models/:model/stats': 'key',
  'GET /v2/models/:model/versions/:version/stats': 'key',
  'POST /v2/repository/index': 'key',
  'POST /predict': ['predict'],
  'POST /v2/models/:model/infer': ['predict'],
  'POST /v2/models/:model/versions/:version/infer': ['predict'],
  'POST /jobs': ['predict'],
  // Polling a job is part of submitting it: a predict key may read its own jobs.
  'GET /jobs/:id': ['predict', 'read'],
  'GET /predictions': ['read'],
  'GET /predictions/:id': ['read'],
  // Model control changes what every client is served: admin only (as a missing route would be; said here to be read).
  'POST /v2/repository/models/:model/load': ['admin'],
  'POST /v2/repository/models/:model/unload': ['admin'],
};

const ADMIN_ONLY: Access = Object.freeze(['admin'] as const);

/** The access a request needs, by method and route pattern (undefined: no route matched, a 404). */
export function accessFor(method: string, route: string | undefined): Access {
  if (route === undefined) return 'open';
  if (route === '/docs' || route.startsWith('/docs/')) return 'open'; // Swagger UI and its assets
  return RULES[`${method === 'HEAD' ? 'GET' : method} ${route}`] ?? ADMIN_ONLY;
}

/** Whether a key with these scopes may use a route that needs `access` (not 'open'). */
export function allows(scopes: readonly Scope[], access: Access): boolean {
  if (access === 'open' || access === 'key' || scopes.includes('admin')) return true;
  return access.some((s) => scopes.includes(s));
}
