import assert from 'node:assert/strict';
import { json } from './server.ts';

/**
 * The web page as any HTTP client sees it at `url` (a server, a container, the proxy): `/` is
 * the page, never cached and under its own CSP, open without an API key; its script has a
 * content-hashed name, is cached for a year and comes compressed.
 */
export async function checkWebPage(url: string): Promise<void> {
  const res = await fetch(`${url}/`);
  const html = await res.text();
  assert.equal(res.status, 200, html.slice(0, 200));
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'; style-src 'self'/);
  assert.match(html, /<title>Loupe<\/title>/);
  const script = /src="(\/assets\/index-[\w-]{8,}\.js)"/.exec(html)?.[1];
  assert.ok(script, `index.html names a hashed script: ${html}`);
  const asset = await fetch(`${url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type') ?? '', /javascript/);
  assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(asset.headers.get('content-encoding'), 'gzip');
  assert.ok((await asset.text()).length > 1000);
  const missing = await fetch(`${url}/assets/index-00000000.js`);
  assert.equal(missing.status, 404);
  assert.equal((await json(missing)).error.code, 'NOT_FOUND');
}
