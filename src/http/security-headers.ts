import type { FastifyHelmetOptions } from '@fastify/helmet';

/**
 * Security headers (@fastify/helmet) on every response. The API answers JSON, so its
 * Content-Security-Policy allows nothing at all (the two pages, /docs and /, set their own below);
 * helmet's other defaults stay (nosniff, frame and referrer policies, cross-origin isolation
 * headers, HSTS, which browsers honour over HTTPS only). `upgrade-insecure-requests` is left out: Loupe is served over plain HTTP on
 * loopback and behind the Compose proxy, and the directive would send /docs' assets to https.
 */
export const helmetOptions: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      'default-src': ["'none'"],
      'base-uri': ["'none'"],
      'form-action': ["'none'"],
      'frame-ancestors': ["'none'"],
    },
  },
};

/**
 * /docs (Swagger UI, served from this origin by @fastify/swagger-ui): its page loads only its
 * own scripts and styles (no inline script; the validator badge is off) and fetches the
 * OpenAPI document and "Try it out" requests from this origin. Inline styles are allowed
 * because the rendered Markdown (table alignment) carries style attributes. Set by
 * @fastify/swagger-ui's `staticCSP` on its own routes, in place of the API's policy.
 */
export const docsCsp = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data: blob:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * The web page at `/` (index.html only; its assets are scripts and styles, which a CSP does not
 * govern): its own bundled script and stylesheet, no inline script or style, requests to this
 * origin only, and image previews from blob: URLs the page makes of the chosen files.
 */
export const webCsp = [
  "default-src 'none'",
  "base-uri 'none'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "img-src 'self' blob: data:",
  "script-src 'self'",
  "style-src 'self'",
].join('; ');
