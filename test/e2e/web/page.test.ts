import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page, Request } from 'playwright-core';
import { FIXTURES, fixture as fixtureBytes } from '../../helpers/fixtures.ts';
import { ROOT, SCREENSHOTS, browserMissing, buildWebPage, launchBrowser } from '../../helpers/browser.ts';
import { startServe, type TestServer } from '../../helpers/server.ts';

const ANKLE_BOOT = path.join(ROOT, 'docs', 'ankle-boot.png');
const PHOTO = path.join(FIXTURES, 'dog-160x120.jpg');
const BATCH = [
  ANKLE_BOOT,
  PHOTO,
  ...['dog-160x120.png', 'dog-rgba.png', 'gray-40x30.png'].map((f) => path.join(FIXTURES, f)),
];
interface Img {
  naturalWidth: number;
}
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });

describe(
  'the web page in Chromium (serve, bundled model)',
  { skip: browserMissing() || false, timeout: 180_000 },
  () => {
    let srv: TestServer;
    let browser: Browser;
    let page: Page;
    const requested: string[] = [];

    before(async () => {
      buildWebPage();
      srv = await startServe();
      browser = await launchBrowser();
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
      context.on('request', (r) => requested.push(r.url()));
      page = await context.newPage();
      page.setDefaultTimeout(15_000);
    });
    after(async () => {
      await browser?.close();
      await srv?.stop();
    });

    it('first load (page, assets, model list) transfers at most 150 KB', async (t) => {
      const sizes: Array<Promise<number>> = [];
      const count = (r: Request) => sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
      page.on('requestfinished', count);
      // The model list is fetched once the script runs: wait for it, not only for a quiet
      // network (on a loaded machine the script can start after 'networkidle' has fired).
      const models = page.waitForEvent('requestfinished', {
        predicate: (r) => new URL(r.url()).pathname === '/models',
        timeout: 30_000,
      });
      await page.goto(`${srv.url}/`, { waitUntil: 'load' });
      await models;
      await page.waitForLoadState('networkidle');
      page.off('requestfinished', count);
      const total = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
      assert.ok(sizes.length >= 4, `page, script, stylesheet and /models: ${sizes.length} requests`);
      assert.ok(total <= 150 * 1024, `first load transferred ${total} bytes`);
      t.diagnostic(`first load: ${sizes.length} requests, ${total} bytes transferred`);
      await page.getByRole('option', { name: /fashion-mnist/ }).waitFor({ state: 'attached' });
      assert.equal(await page.locator('#api-key').count(), 0, 'no API-key field: this server asks for none');
    });

    it("shows the default model's card, says how to get a photo model, and tries a sample with one click", async () => {
      const card = page.locator('section.card');
      await card.getByText('Test accuracy', { exact: true }).waitFor();
      const text = await card.innerText();
      assert.match(text, /About fashion-mnist v1/);
      assert.match(text, /Trained on\s+Fashion-MNIST .*28×28 grayscale/);
      assert.match(text, /Test accuracy\s+93\.11 % on 10,000 held-out fashion-mnist test images/);
      assert.match(text, /Labels \(10\)\s+T-shirt\/top, Trouser, .*Ankle boot/);
      assert.match(text, /npm run loupe -- models pull hf:\/\/Xenova\/resnet-50\/onnx\/model\.onnx/);
      assert.match(text, /--preset imagenet/);
      const samples = card.getByRole('group', { name: 'Sample images' }).getByRole('button');
      assert.ok((await samples.count()) >= 4);
      // Every thumbnail drew (fetched with the page's key, as a blob): none is a broken image.
      // Functions, not strings: the page's CSP allows no eval, which polling a string needs.
      await page.waitForFunction(() => {
        const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Img> } }).document;
        return Array.from(doc.querySelectorAll('.sample img')).every((i) => i.naturalWidth === 28);
      });
      await samples.filter({ hasText: 'trouser' }).click();
      await page.getByText('PNG 28×28').waitFor();
      assert.match(await page.locator('.answer .labels li').first().innerText(), /^Trouser\s/);
      assert.equal(await page.locator('.answer .warning').count(), 0, 'its own domain: no warning');
    });

    it('classifies a photo and the sample image: preview, top-k labels with score bars, timings', async () => {
      await page.locator('#classify-file').setInputFiles(PHOTO);
      await page.getByText('JPEG 160×120').waitFor();
      assert.equal(await page.locator('.answer .labels li meter').count(), 5);
      // A photo into the clothing model: the page says, in words, that the labels may mean little.
      const warning = await page.getByRole('note', { name: 'Warning' }).innerText();
      assert.match(warning, /These labels may mean little/);
      assert.match(warning, /in colour; this model was trained on grayscale images only/);
      assert.equal(await page.getByRole('img', { name: 'Preview of dog-160x120.jpg' }).isVisible(), true);

      await page.getByLabel('Labels to show').fill('3');
      await page.locator('#classify-file').setInputFiles(ANKLE_BOOT);
      await page.getByText('PNG 28×28').waitFor();
      const labels = page.locator('.answer .labels li');
      assert.equal(await labels.count(), 3);
      assert.match(await labels.first().innerText(), /^Ankle boot\s+9\d\.\d+ %$/);
      assert.match(await page.locator('table.timings').innerText(), /Inference\s+\d+\.\d\d/);
      await shot(page, 'classify.png');
    });

    it('refuses a PDF with a readable message and the request id', async () => {
      const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
      await page
        .locator('#classify-file')
        .setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: pdf });
      const alert = page.getByRole('alert');
      await alert.waitFor();
      const text = await alert.innerText();
      assert.match(text, /not an image Loupe can read/);
      assert.match(text, /pdf images are not supported.*request id [0-9a-f-]{36}/s);
      assert.equal(await page.locator('.preview img').count(), 0, 'no broken preview picture for a PDF');
      assert.equal(await page.locator('.preview figcaption').innerText(), 'report.pdf');
      assert.equal(await page.getByRole('alert').count(), 1);
      await shot(page, 'refused-pdf.png');
    });

    it('runs 5 images as one job with a progress bar, per-image results and CSV/JSON downloads', async () => {
      await page.getByRole('link', { name: 'Batch' }).click();
      await page.locator('#batch-files').setInputFiles(BATCH);
      await page.getByText('5 images chosen').waitFor();
      await page.getByRole('button', { name: 'Start job' }).click();
      const bar = page.locator('#job-progress');
      await bar.waitFor();
      const seen: number[] = [];
      for (const end = Date.now() + 60_000; Date.now() < end; await sleep(25)) {
        const v = Number(await bar.getAttribute('value'));
        if (seen.at(-1) !== v) seen.push(v);
        if (v === 5) break;
      }
      assert.deepEqual(seen, [...seen].sort(), `progress only grows: ${seen}`);
      assert.equal(seen.at(-1), 5, `progress reached 5 of 5: ${seen}`);
      await page.getByText('Job completed: 5 done', { exact: true }).waitFor();
      const rows = page.locator('table.items tbody tr');
      assert.equal(await rows.count(), 5);
      assert.match(await rows.first().innerText(), /ankle-boot\.png\s+done\s+Ankle boot/);

      const csv = await downloaded(page, 'Download CSV');
      const lines = csv.trim().split('\r\n');
      // The tab asks for 3 labels per image: the CSV has all three, ranked.
      assert.equal(
        lines[0],
        'index,filename,status,label,score,label_2,score_2,label_3,score_3,model,version,prediction_id,error',
      );
      assert.equal(lines.length, 6);
      assert.match(
        lines[1]!,
        /^0,ankle-boot\.png,done,Ankle boot,0\.9\d+,[^,]+,[\d.e-]+,[^,]+,[\d.e-]+,fashion-mnist,1,[0-9a-f-]{36},$/,
      );
      const job = JSON.parse(await downloaded(page, 'Download JSON'));
      assert.equal(job.items.length, 5);
      assert.deepEqual(job.progress, { total: 5, done: 5, failed: 0 });
      await shot(page, 'batch.png');
    });

    it('counts a failed image apart: "4 done, 1 failed"', async () => {
      const broken = {
        name: 'broken.png',
        mimeType: 'image/png',
        buffer: fixtureBytes('gray-40x30.png').subarray(0, 200),
      };
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.locator('#batch-files').setInputFiles(BATCH.slice(0, 4));
      await page.locator('#batch-files').setInputFiles(broken);
      await page.getByText('5 images chosen').waitFor();
      await page.getByRole('button', { name: 'Start job' }).click();
      await page.getByText('Job completed: 4 done, 1 failed', { exact: true }).waitFor({ timeout: 60_000 });
      assert.match(
        await page.locator('table.items tbody tr').last().innerText(),
        /broken\.png\s+failed\s+the png image could not be decoded/,
      );
    });

    it('shows the predictions in history, filters them, and opens one record', async () => {
      await page.getByRole('link', { name: 'Classify' }).click();
      await page.locator('#classify-file').setInputFiles(ANKLE_BOOT);
      await page.getByRole('button', { name: 'view in history' }).click();
      const title = page.locator('#record-title');
      await title.waitFor();
      const id = (await title.innerText()).replace('Prediction ', '');
      await page.locator('.record .labels').waitFor();
      assert.match(await page.locator('.record').innerText(), /sha256 [0-9a-f]{64}[\s\S]*Ankle boot/);
      const rows = page.locator('table.history tbody tr');
      await rows.first().waitFor();
      assert.equal(
        await rows.count(),
        13,
        '4 images classified, 5 + 4 in the jobs; the PDF and the broken PNG are not recorded',
      );
      assert.match(await page.locator(`tr[aria-current="true"]`).innerText(), /fashion-mnist v1\s+Ankle boot/);
      assert.match(page.url(), new RegExp(`#history/${id}$`));
      await shot(page, 'history.png');

      await page.getByLabel('From').fill('2999-01-01T00:00');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText(/page 1, none/).waitFor();
      await page.getByLabel('From').fill('');
      await page.getByLabel('Model', { exact: true }).selectOption('fashion-mnist');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByText(/^Predictions, newest first \(page 1\)$/).waitFor();
      assert.equal(await rows.count(), 13);
    });

    it('fits a phone screen, in light and dark: no clipped table column, the answer scrolled into view', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.emulateMedia({ colorScheme: 'dark' });
      for (const tab of ['Classify', 'Batch', 'History']) {
        await page.getByRole('link', { name: tab }).click();
        if (tab === 'History') await page.locator('table.history tbody tr').first().waitFor(); // fetched anew
        const wide = await page.evaluate<number>('document.documentElement.scrollWidth');
        assert.ok(wide <= 390, `${tab}: page is ${wide}px wide on a 390px screen`);
        // Every table cell lies within the screen, and no table scrolls sideways (a clipped column).
        const outside = await page.evaluate<string[]>(`[...document.querySelectorAll('table')]
          .filter((t) => t.offsetParent !== null)
          .flatMap((t) => [
            ...(t.scrollWidth > t.parentElement.clientWidth ? ['table ' + t.className + ' scrolls sideways'] : []),
            ...[...t.querySelectorAll('td, th')]
              .filter((c) => c.offsetParent !== null && c.getBoundingClientRect().right > 390.5)
              .map((c) => t.className + ': ' + c.textContent),
          ])`);
        assert.deepEqual(outside, [], `${tab}: cells off screen or clipped`);
      }
      await page.getByRole('link', { name: 'Batch' }).click();
      assert.ok((await page.locator('table.items tbody tr').count()) > 0, 'the job table was checked');
      await shot(page, 'phone-batch.png');

      // The answer lands below the card and the drop zone: the page brings it on screen.
      await page.getByRole('link', { name: 'Classify' }).click();
      await page.evaluate('window.scrollTo(0, 0)');
      await page
        .getByRole('group', { name: 'Sample images' })
        .getByRole('button')
        .filter({ hasText: 'ankle boot' })
        .click();
      await page.locator('.answer').waitFor();
      await page.waitForFunction(() => (globalThis as unknown as { scrollY: number }).scrollY > 0);
      const box = await page.locator('.answer .labels').boundingBox();
      assert.ok(box && box.y >= 0 && box.y < 844, `the labels are on screen: ${JSON.stringify(box)}`);
      const bg = await page.evaluate<string>('getComputedStyle(document.documentElement).backgroundColor');
      assert.equal(bg, 'rgb(22, 24, 28)');
      await page.getByRole('link', { name: 'Classify' }).click();
      await shot(page, 'phone-dark.png');
    });

    it('made no request outside its own origin', () => {
      const outside = requested.filter((u) => !u.startsWith(`${srv.url}/`) && !/^(blob|data):/.test(u));
      assert.deepEqual(outside, []);
      assert.ok(requested.length > 10);
    });
  },
);

async function downloaded(page: Page, button: string): Promise<string> {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
  return readFileSync(await dl.path(), 'utf8');
}
