import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const TUNING = pathToFileURL(path.resolve(import.meta.dirname, '../../../src/cli/tuning.ts')).href;
const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-tuning-'));
const script = path.join(dir, 'probe.mjs');
// Prints its pid before the restart (stderr) and what the process runs with after it.
writeFileSync(
  script,
  `process.stderr.write(String(process.pid) + '\\n');
const { tuneRuntime } = await import(${JSON.stringify(TUNING)});
tuneRuntime();
console.log(JSON.stringify({ pid: process.pid, execArgv: process.execArgv, arena: process.env.MALLOC_ARENA_MAX ?? null, trim: process.env.MALLOC_TRIM_THRESHOLD_ ?? null, args: process.argv.slice(2) }));`,
);
after(() => rmSync(dir, { recursive: true, force: true }));

function probe(flags: string[], env: Record<string, string> = {}) {
  const base = { ...process.env };
  for (const k of ['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_', 'LOUPE_NODE_TUNING', 'NODE_OPTIONS']) delete base[k];
  const run = spawnSync(process.execPath, [...flags, script, 'serve', '--x'], {
    env: { ...base, ...env },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout;
  return JSON.parse(out) as {
    pid: number;
    execArgv: string[];
    arena: string | null;
    trim: string | null;
    args: string[];
  };
}

describe('runtime tuning (cli/tuning.ts)', () => {
  it('restarts once, in place, with the memory settings and the same arguments', () => {
    const r = probe([]);
    assert.ok(r.execArgv.includes('--liftoff-only'), r.execArgv.join(' '));
    assert.ok(r.execArgv.includes('--max-semi-space-size=8'), r.execArgv.join(' '));
    // glibc is left as it is: its arena and trim settings cost img/s (tuning.ts says how much).
    assert.equal(r.trim, null);
    assert.equal(r.arena, null);
    assert.deepEqual(r.args, ['serve', '--x']);
  });

  it('keeps what the user set: their flag, their variable, or no tuning at all', () => {
    const mine = probe(['--max-semi-space-size=16', '--no-liftoff-only'], { MALLOC_TRIM_THRESHOLD_: '65536' });
    assert.ok(mine.execArgv.includes('--max-semi-space-size=16'));
    assert.ok(!mine.execArgv.includes('--max-semi-space-size=8'));
    assert.ok(!mine.execArgv.includes('--liftoff-only'));
    assert.deepEqual(probe(['--liftoff-only'], { NODE_OPTIONS: '--max-semi-space-size=4' }).execArgv, [
      '--liftoff-only',
    ]);
    const off = probe([], { LOUPE_NODE_TUNING: 'off' });
    assert.deepEqual(off.execArgv, []);
    // Under `node --watch` (npm run dev) a restart would cut the watcher's channel.
    assert.deepEqual(probe([], { WATCH_REPORT_DEPENDENCIES: '1' }).execArgv, []);
  });
});
