import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ErrorCode, LoupeError } from '../errors.ts';
import { webCsp } from './security-headers.ts';

/** dist/web, built by `npm run build:web`: two folders up from both src/http and dist/http. */
export const WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * The web page (web/, built by Vite) at `/`, on the API's origin: index.html, never cached
 * (it names the current assets), and /assets/*, whose names carry a content hash and so are
 * cached for a year. Both are open routes (the page asks for the API key itself) and out of
 * the OpenAPI document. Without a build, `/` says how to make one.
 */
export async function webRoutes(app: FastifyInstance, opts: { root?: string }): Promise<void> {
  const root = opts.root ?? WEB_ROOT;
  const index = path.join(root, 'index.html');
  if (!existsSync(index)) {
    app.get('/', { schema: { hide: true } }, async () => {
      throw new LoupeError(ErrorCode.NotFound, 'the web page is not built: run `npm run build` (the API is at /docs)');
    });
    return;
  }
  const html = readFileSync(index);
  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', webCsp)
      .send(html),
  );
  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    // Only Vite's output is there, but a stray `.env` or `.git` copied in must not be served.
    dotfiles: 'ignore',
    maxAge: '365d',
    immutable: true,
  });
}
