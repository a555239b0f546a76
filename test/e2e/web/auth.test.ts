import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { generateKey } from '../../../src/auth/index.ts';
import { ROOT, SCREENSHOTS, browserMissing, buildWebPage, launchBrowser } from '../../helpers/browser.ts';
import { json, startServe, tempDir, type TestServer } from '../../helpers/server.ts';
import { checkWebPage } from '../../helpers/web-page.ts';

const ANKLE_BOOT = path.join(ROOT, 'docs', 'ankle-boot.png');

describe('the web page with API keys on', { skip: browserMissing() || false, timeout: 120_000 }, () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  // Keys from a keys file, as the auth tests and the Compose stack make them.
  const alice = generateKey();
  const reader = generateKey();

  before(async () => {
    buildWebPage();
    const file = path.join(tempDir('loupe-web-keys-'), 'api_keys');
    writeFileSync(file, `alice predict,read ${alice.key}\nreader read ${reader.key}\n`);
    srv = await startServe({ LOUPE_AUTH: 'required', LOUPE_API_KEYS_FILE: file });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await browser?.close();
    await srv?.stop();
  });

  const alertText = async () => {
    const alert = page.getByRole('alert').first();
    await alert.waitFor();
    return alert.innerText();
  };
  const useKey = async (key: string) => {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Use key' }).click();
  };

  it('serves the page without a key and says a key is needed (401)', async () => {
    await checkWebPage(srv.url);
    const spec = await json(await fetch(`${srv.url}/openapi.json`));
    assert.deepEqual(
      Object.keys(spec.paths).filter((p) => p === '/' || p.startsWith('/assets')),
      [],
    );
    await page.goto(`${srv.url}/`);
    assert.match(await alertText(), /needs an API key\. Enter yours in the API key field/);
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/predict' && r.status() === 401);
    await page.locator('#classify-file').setInputFiles(ANKLE_BOOT);
    await refused;
    await page.getByText('Classifying…').waitFor({ state: 'detached' });
    // One banner says it, not two identical red ones (the page's and the upload's).
    assert.equal(await page.getByRole('alert').count(), 1);
    assert.match(await alertText(), /needs an API key[\s\S]*Authorization: Bearer/);
  });

  it('shows the API-key field, its placeholder whole, only because this server asks for keys', async () => {
    const field = page.getByLabel('API key');
    assert.equal(await field.isVisible(), true);
    const fit = await page.evaluate<{ text: number; room: number; placeholder: string }>(`(() => {
      const el = document.getElementById('api-key');
      const cs = getComputedStyle(el);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = cs.font;
      return {
        placeholder: el.placeholder,
        text: ctx.measureText(el.placeholder).width,
        room: el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
      };
    })()`);
    assert.ok(fit.placeholder.length > 0);
    assert.ok(fit.text <= fit.room, `placeholder "${fit.placeholder}" needs ${fit.text}px, has ${fit.room}px`);
  });

  it('says so when the key is wrong (401) and when it lacks the scope (403)', async () => {
    await useKey(generateKey().key);
    assert.match(await alertText(), /The API key was not accepted/);
    await useKey(reader.key);
    await page.getByRole('option', { name: /fashion-mnist/ }).waitFor({ state: 'attached' });
    await page.locator('#classify-file').setInputFiles(ANKLE_BOOT);
    await page.getByText(/valid but not allowed to do this/).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'auth-403.png') });
  });

  it('classifies with a valid key, kept in this tab only, and forgets it on request', async () => {
    await useKey(alice.key);
    await page.locator('#classify-file').setInputFiles(ANKLE_BOOT);
    await page.getByText('PNG 28×28').waitFor();
    assert.match(await page.locator('.answer .labels li').first().innerText(), /^Ankle boot/);
    const stored = await page.evaluate(() => [
      sessionStorage.getItem('loupe.apiKey'),
      localStorage.getItem('loupe.apiKey'),
    ]);
    assert.deepEqual(stored, [alice.key, null]);

    await page.reload();
    await page.getByRole('link', { name: 'History' }).click();
    await page.locator('table.history tbody tr').first().waitFor();
    assert.equal(await page.locator('table.history tbody tr').count(), 1, 'alice sees her own prediction');

    await page.getByRole('button', { name: 'Forget key' }).click();
    assert.deepEqual(
      await page.evaluate(() => [sessionStorage.getItem('loupe.apiKey'), localStorage.getItem('loupe.apiKey')]),
      [null, null],
    );
    assert.match(await alertText(), /needs an API key/);
  });
});
