import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { FIXTURES } from '../../helpers/fixtures.ts';
import { ROOT, browserMissing, buildWebPage, launchBrowser } from '../../helpers/browser.ts';
import { startServe, type TestServer } from '../../helpers/server.ts';

const FILES = [
  path.join(ROOT, 'docs', 'ankle-boot.png'),
  ...['dog-160x120.jpg', 'dog-160x120.png', 'dog-rgba.png', 'gray-40x30.png'].map((f) => path.join(FIXTURES, f)),
];

describe(
  'the Batch tab splits by the server limits (Chromium)',
  { skip: browserMissing() || false, timeout: 180_000 },
  () => {
    let srv: TestServer;
    let browser: Browser;
    let page: Page;
    const posted: number[] = [];

    before(async () => {
      buildWebPage();
      srv = await startServe({ LOUPE_MAX_JOB_IMAGES: '2' });
      browser = await launchBrowser();
      const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
      page = await context.newPage();
      page.setDefaultTimeout(30_000);
      page.on('request', (r) => {
        if (r.method() === 'POST' && new URL(r.url()).pathname === '/jobs')
          posted.push(r.postDataBuffer()?.length ?? 0);
      });
    });
    after(async () => {
      await browser?.close();
      await srv?.stop();
    });

    it('5 images with LOUPE_MAX_JOB_IMAGES=2: 3 jobs, a line saying so, one result of all; the CSV has the top-k labels', async () => {
      await page.goto(`${srv.url}/`);
      await page.getByRole('link', { name: 'Batch' }).click();
      await page.locator('#batch-files').setInputFiles(FILES);
      await page.getByText('5 images chosen').waitFor();
      await page.getByRole('button', { name: 'Start job' }).click();
      const note = page.getByRole('status').filter({ hasText: 'LOUPE_MAX_JOB_IMAGES' });
      assert.equal(
        await note.innerText(),
        '5 images are more than one job may carry on this server (2, LOUPE_MAX_JOB_IMAGES): sending them as 3 jobs.',
      );
      await page.getByText('3 jobs completed: 5 done', { exact: true }).waitFor();
      assert.equal(posted.length, 3, 'three POST /jobs, none refused');
      const rows = page.locator('table.items tbody tr');
      assert.equal(await rows.count(), 5);
      assert.match(await rows.first().innerText(), /^1\s+ankle-boot\.png\s+done\s+Ankle boot/);

      const [dl] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Download CSV' }).click(),
      ]);
      const lines = readFileSync(await dl.path(), 'utf8')
        .trim()
        .split('\r\n');
      assert.equal(
        lines[0],
        'index,filename,status,label,score,label_2,score_2,label_3,score_3,model,version,prediction_id,error',
      );
      assert.deepEqual(
        lines.slice(1).map((l) => l.split(',').slice(0, 2)),
        FILES.map((f, i) => [String(i), path.basename(f)]),
      );
      assert.match(
        lines[1]!,
        /^0,ankle-boot\.png,done,Ankle boot,0\.9\d+,[^,]+,[\d.e-]+,[^,]+,[\d.e-]+,fashion-mnist,1,/,
      );
    });
  },
);
