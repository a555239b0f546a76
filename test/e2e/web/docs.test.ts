import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { ROOT, SCREENSHOTS, browserMissing, buildWebPage, launchBrowser } from '../../helpers/browser.ts';
import { json, startServe, type TestServer } from '../../helpers/server.ts';

const SAMPLE = path.join(ROOT, 'docs', 'ankle-boot.png');

/**
 * /docs as a newcomer meets it: Swagger UI as served, "Try it out" with only the required
 * inputs filled (a file where one is required), Execute — and a 2xx, from the examples and
 * the empty optional fields as they are loaded.
 */
describe(
  '/docs "Try it out" in Chromium (serve, bundled model)',
  { skip: browserMissing() || false, timeout: 180_000 },
  () => {
    let srv: TestServer;
    let browser: Browser;
    let page: Page;

    before(async () => {
      buildWebPage();
      srv = await startServe();
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.setDefaultTimeout(20_000);
      await page.goto(`${srv.url}/docs`);
    });
    after(async () => {
      await browser?.close();
      await srv?.stop();
    });

    /**
     * Opens one operation, runs `fill` on it and presses Execute; returns the status Swagger UI
     * shows and the JSON body the server sent.
     */
    async function execute(
      method: string,
      apiPath: string,
      fill: (op: Locator) => Promise<void>,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each operation answers its own shape
    ): Promise<{ status: number; body: any }> {
      const op = page.locator(`.opblock-${method}`, {
        has: page.locator(`.opblock-summary-path[data-path="${apiPath}"]`),
      });
      await op.locator('.opblock-summary').first().click();
      await op.locator('button.execute').waitFor();
      await fill(op);
      const pattern = new RegExp(`^${srv.url}${apiPath.replace(/\{\w+\}/g, '[^/?]+')}(\\?|$)`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === method.toUpperCase() && pattern.test(r.url())),
        op.locator('button.execute').click(),
      ]);
      const shown = op.locator('.live-responses-table tbody .response-col_status').first();
      await shown.waitFor();
      const status = Number((await shown.innerText()).trim());
      assert.equal(status, response.status(), 'Swagger UI shows the status the server sent');
      return { status, body: await response.json() };
    }

    it('POST /predict with a file chosen answers 200; the pre-filled fields are real values', async () => {
      const res = await execute('post', '/predict', (op) => op.locator('input[type=file]').setInputFiles(SAMPLE));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.predictions.length, 3, 'top_k 3, its example');
      assert.equal(res.body.predictions[0].label, 'Ankle boot');
      const rec = await json(await fetch(`${srv.url}/predictions/${res.body.id}`));
      assert.deepEqual(rec.metadata, { source: 'try-it-out' });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'docs-predict.png') });
    });

    it('POST /jobs with a file chosen answers 202 (the empty version and webhook_url mean "not given")', async () => {
      const res = await execute('post', '/jobs', (op) => op.locator('input[type=file]').first().setInputFiles(SAMPLE));
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const job = await json(await fetch(`${srv.url}${res.body.status_url}`));
      assert.equal(job.model, 'fashion-mnist');
      assert.equal(job.version, null);
      assert.equal(job.top_k, 3);
      assert.equal(job.webhook, null);
      assert.deepEqual(job.metadata, { batch: 'try-it-out' });
      assert.equal(job.progress.total, 1);
    });

    it("POST /v2/models/{model}/infer with its example body answers 200 with the sample's label", async () => {
      const res = await execute('post', '/v2/models/{model}/infer', async (op) => {
        const model = op.locator('tr[data-param-name="model"] input');
        if ((await model.inputValue()) === '') await model.fill('fashion-mnist');
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.match(res.body.outputs[0].data[0], /^[\d.]+:9:Ankle boot$/);
    });

    it('shows each error status with its own example', async () => {
      const spec = (await (await fetch(`${srv.url}/openapi.json`)).json()) as {
        paths: Record<
          string,
          Record<string, { responses: Record<string, { content?: Record<string, { example?: unknown }> }> }>
        >;
      };
      const codes = new Map<string, string>();
      for (const [status, res] of Object.entries(spec.paths['/predict']!.post!.responses)) {
        if (status.startsWith('2')) continue;
        const example = res.content?.['application/json']?.example as { error: { code: string } };
        codes.set(status, example.error.code);
      }
      assert.deepEqual(Object.fromEntries(codes), {
        400: 'BAD_REQUEST',
        404: 'MODEL_NOT_FOUND',
        413: 'PAYLOAD_TOO_LARGE',
        415: 'UNSUPPORTED_MEDIA_TYPE',
        422: 'INVALID_IMAGE',
        429: 'RATE_LIMITED',
        500: 'INTERNAL',
        503: 'OVERLOADED',
      });
    });
  },
);
