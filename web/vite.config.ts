import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The web page at `/`: built into dist/web, which `serve` and `gateway` serve. Assets get
 * content-hashed names under /assets/ (cached for a year); index.html is the only unhashed file.
 * Preact through Oxc's automatic JSX runtime, without a plugin.
 */
export default defineConfig({
  root: here('.'),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    // Everything the page needs is in its files: no inline data URLs (the page's CSP).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
