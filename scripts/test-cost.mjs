// A node --test reporter that says what a run costs: each test file's time (the sum of its
// top-level tests' durations), largest first, then the sum and the run's wall time; failures
// are named as they come. Usage, from the repository root:
//   node --test --test-concurrency=1 --test-reporter=./scripts/test-cost.mjs "test/e2e/**/*.test.ts"
import path from 'node:path';

export default async function* testCost(source) {
  const started = Date.now();
  const files = new Map();
  let failed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { file, nesting, name, details } = event.data;
    if (!file || nesting !== 0) continue;
    const key = path.relative(process.cwd(), file);
    const entry = files.get(key) ?? { ms: 0, failed: 0 };
    entry.ms += details?.duration_ms ?? 0;
    if (event.type === 'test:fail') {
      entry.failed++;
      failed++;
      yield `FAIL ${key}: ${name}: ${details?.error?.message ?? ''}\n`;
    }
    files.set(key, entry);
  }
  const rows = [...files].sort((a, b) => b[1].ms - a[1].ms);
  let total = 0;
  for (const [file, { ms, failed: f }] of rows) {
    total += ms;
    yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${file}${f ? `  (${f} failed)` : ''}\n`;
  }
  const wall = ((Date.now() - started) / 1000).toFixed(1);
  yield `${(total / 1000).toFixed(1).padStart(7)} s  ${rows.length} files; wall ${wall} s; ${failed} failed\n`;
}
