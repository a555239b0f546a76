// The README's pictures of the web page, taken from the real page: `loupe serve` with the
// bundled model on a loopback port, Debian's Chromium, this tree's page (built first).
// Usage: node scripts/web-screenshots.ts   (writes docs/web-page*.png)
import path from 'node:path';
import { ROOT, buildWebPage, launchBrowser } from '../test/helpers/browser.ts';
import { FIXTURES } from '../test/helpers/fixtures.ts';
import { startServe } from '../test/helpers/server.ts';

const out = (name: string) => path.join(ROOT, 'docs', name);

buildWebPage();
const srv = await startServe();
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
  page.setDefaultTimeout(20_000);
  await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
  await page.goto(`${srv.url}/`);
  const samples = page.getByRole('group', { name: 'Sample images' }).getByRole('button');
  await samples.first().waitFor();
  await page.getByLabel('Labels to show').fill('3');
  await samples.filter({ hasText: 'Ankle boot' }).click();
  await page.getByText('PNG 28×28').waitFor();
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: out('web-page.png'), fullPage: true });

  // A photo into the clothing model: the answer says the labels may mean little, and why.
  await page.locator('#classify-file').setInputFiles(path.join(FIXTURES, 'dog-160x120.jpg'));
  await page.getByRole('note', { name: 'Warning' }).waitFor();
  await page.locator('.result').screenshot({ path: out('web-page-warning.png') });

  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await samples.filter({ hasText: 'Sneaker' }).click();
  await page.locator('.answer .labels').waitFor();
  await page.screenshot({ path: out('web-page-phone.png') });
  console.log('wrote docs/web-page.png, docs/web-page-warning.png, docs/web-page-phone.png');
} finally {
  await browser.close();
  await srv.stop();
}
