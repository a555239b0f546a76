import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Git-ignored (test/.tmp/): screenshots the browser tests take, kept as CI artifacts. */
export const SCREENSHOTS = path.join(ROOT, 'test', '.tmp', 'web-screenshots');
const CHROMIUM = process.env.LOUPE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here ('' when they can): no Chromium (Debian's `chromium`).
 * With LOUPE_REQUIRE_BROWSER=1 (CI) that is a failure, not a skip.
 */
export function browserMissing(): string {
  if (existsSync(CHROMIUM)) return '';
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set LOUPE_CHROMIUM)`;
  if (process.env.LOUPE_REQUIRE_BROWSER === '1') throw new Error(`LOUPE_REQUIRE_BROWSER=1 but ${why}`);
  console.warn(`skipping the browser tests: ${why}`);
  return why;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic'],
  });
}

/** Builds the page (web/ → dist/web) as `npm run build` does, so the server serves this tree's page. */
export function buildWebPage(): void {
  execFileSync(path.join(ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'web/vite.config.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
}
