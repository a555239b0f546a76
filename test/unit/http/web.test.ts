import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { ErrorCode, LoupeError } from '../../../src/errors.ts';
import { sendError } from '../../../src/http/errors.ts';
import { webRoutes } from '../../../src/http/web.ts';
import { tempDir } from '../../helpers/server.ts';

/** The page's routes alone, over a build of our own (no Vite, no browser), with Loupe's error answers. */
async function pageApp(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  app.setErrorHandler((err, req, reply) => sendError(err as Error, req, reply));
  app.setNotFoundHandler((req, reply) => sendError(new LoupeError(ErrorCode.NotFound, 'no route'), req, reply));
  await app.register(webRoutes, { root });
  return app;
}

describe('the web page routes (src/http/web.ts)', () => {
  let app: FastifyInstance;
  const root = tempDir('loupe-web-root-');

  before(async () => {
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Loupe</title>');
    writeFileSync(path.join(root, 'assets', 'index-AbC123xy.js'), 'console.log(1)');
    // What must never be served: dotfiles in the assets, and anything beside them.
    writeFileSync(path.join(root, 'assets', '.env'), 'SECRET=1');
    writeFileSync(path.join(root, 'secret.txt'), 'beside the assets');
    app = await pageApp(root);
  });
  after(() => app?.close());

  it('serves index.html never cached, under its own CSP; hashed assets cached for a year', async () => {
    const page = await app.inject('/');
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'.*script-src 'self'/);
    const js = await app.inject('/assets/index-AbC123xy.js');
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  });

  it('serves no dotfile, no directory listing and nothing outside assets/, however encoded', async () => {
    for (const url of [
      '/assets/.env',
      '/assets/%2eenv',
      '/assets/',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%5csecret.txt',
      '/assets/....//secret.txt',
      '/index.html/../secret.txt',
    ]) {
      const res = await app.inject(url);
      assert.ok([400, 404].includes(res.statusCode), `${url}: ${res.statusCode}`);
      assert.doesNotMatch(res.body, /SECRET|beside the assets/, url);
      assert.equal(res.headers['cache-control'], undefined, `${url}: an error is not cached for a year`);
    }
  });

  it('without a build, / says how to make one (a JSON 404) and /assets/* does not exist', async () => {
    const bare = await pageApp(tempDir('loupe-web-none-'));
    try {
      const res = await bare.inject('/');
      assert.equal(res.statusCode, 404);
      assert.match(res.json().error.message, /npm run build/);
      assert.equal((await bare.inject('/assets/index-AbC123xy.js')).statusCode, 404);
    } finally {
      await bare.close();
    }
  });
});
