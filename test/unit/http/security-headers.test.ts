import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../../src/http/index.ts';
import { PNG_1x1, multipart, stubApp } from '../../helpers/app.ts';

// Helmet's headers on answers, errors and the Swagger UI, over a stub backend: which headers
// a route sends does not depend on the model behind it.

type Headers = Record<string, string | string[] | number | undefined>;
const flat = (h: Headers) => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)]));

describe('security headers', () => {
  let app: App;
  before(async () => {
    ({ app } = await stubApp());
  });
  after(() => app.close());

  const assertHelmet = (h: Record<string, string>, where: string) => {
    assert.equal(h['x-content-type-options'], 'nosniff', where);
    assert.equal(h['x-frame-options'], 'SAMEORIGIN', where);
    assert.equal(h['referrer-policy'], 'no-referrer', where);
    assert.match(h['strict-transport-security'] ?? '', /max-age=\d+/, where);
    assert.equal(h['cross-origin-opener-policy'], 'same-origin', where);
    assert.ok(h['content-security-policy'], where);
  };

  it('on /livez, /predict and an error: helmet’s headers, and a CSP that allows nothing', async () => {
    const livez = await app.inject({ method: 'GET', url: '/livez' });
    const p = await app.inject({ method: 'POST', url: '/predict', ...multipart(PNG_1x1) });
    assert.equal(p.statusCode, 200, p.body);
    const missing = await app.inject({ method: 'GET', url: '/nope' });
    assert.equal(missing.statusCode, 404);
    for (const [where, res] of [
      ['/livez', livez],
      ['/predict', p],
      ['404', missing],
    ] as const) {
      const h = flat(res.headers);
      assertHelmet(h, where);
      assert.match(h['content-security-policy']!, /default-src 'none'/, where);
      assert.match(h['content-security-policy']!, /frame-ancestors 'none'/, where);
      assert.doesNotMatch(h['content-security-policy']!, /upgrade-insecure-requests/, where);
    }
  });

  it('/docs still serves Swagger UI, and every script and stylesheet it references loads under its CSP', async () => {
    const origin = 'http://loupe.test';
    for (const page of ['/docs', '/docs/']) {
      const res = await app.inject({ method: 'GET', url: page });
      assert.equal(res.statusCode, 200, page);
      const h = flat(res.headers);
      assert.match(h['content-type'] ?? '', /^text\/html/);
      const csp = h['content-security-policy'] ?? '';
      assertHelmet(h, page);
      assert.match(csp, /script-src 'self'(;|$)/, 'scripts from this origin only (no inline, no eval)');
      assert.match(csp, /connect-src 'self'/, 'Swagger UI fetches the OpenAPI document and "Try it out" requests');
      const html = res.body;
      // No inline script: each <script> has a src, which script-src 'self' allows.
      const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => /src="([^"]+)"/.exec(m[1]!)?.[1]);
      assert.ok(scripts.length >= 3);
      assert.ok(
        scripts.every((s) => s !== undefined),
        'an inline <script>',
      );
      const styles = [...html.matchAll(/<link rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(styles.length >= 1);
      for (const asset of [...(scripts as string[]), ...styles]) {
        const url = new URL(asset, `${origin}${page}`);
        assert.equal(url.origin, origin, `${asset} is served from this origin`);
        const a = await app.inject({ method: 'GET', url: url.pathname + url.search });
        assert.equal(a.statusCode, 200, `${page} → ${url.pathname}`);
        assert.match(
          String(a.headers['content-type'] ?? ''),
          asset.endsWith('.css') ? /text\/css/ : /javascript/,
          url.pathname,
        );
        assert.ok(a.rawPayload.byteLength > 0, url.pathname);
      }
    }
    const spec = await app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(spec.statusCode, 200);
    assert.equal(spec.json().openapi, '3.1.0');
  });
});
