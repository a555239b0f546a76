import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { FIXTURES } from './fixtures.ts';

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');
const ANKLE_BOOT = path.resolve(import.meta.dirname, '../../docs/ankle-boot.png');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The CLI in a child process; asynchronous, since the server it talks to may run in this one. */
export function loupe(
  args: string[],
  env: Record<string, string | undefined> = {},
  hooks: string[] = [],
  timeoutMs = 30_000,
): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [...hooks, MAIN, ...args], {
    env: { ...process.env, LOUPE_URL: undefined, LOUPE_API_KEY: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: performance.now() - started })),
  );
}

/**
 * The command-line client against a running Loupe at `url` (the image, the stack's proxy): a
 * folder of real images to CSV, and a job submitted and watched to its results.
 */
export async function checkCliClient(url: string, key: string): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-cli-images-'));
  copyFileSync(path.join(FIXTURES, 'dog-160x120.jpg'), path.join(dir, 'dog.jpg'));
  copyFileSync(ANKLE_BOOT, path.join(dir, 'ankle-boot.png'));
  const env = { LOUPE_URL: url, LOUPE_API_KEY: key };
  const r = await loupe(['predict', dir, '--format', 'csv', '--top-k', '2'], env, [], 60_000);
  assert.equal(r.status, 0, r.stderr);
  const rows = parse(r.stdout, { columns: true }) as Array<Record<string, string>>;
  assert.deepEqual(rows.map((row) => path.basename(row.file!)).sort(), ['ankle-boot.png', 'dog.jpg']);
  const boot = rows.find((row) => row.file!.endsWith('ankle-boot.png'))!;
  assert.equal(boot.label, 'Ankle boot');
  assert.equal(boot.error, '');
  const job = await loupe(['jobs', 'submit', dir, '--watch', '--format', 'json'], env, [], 90_000);
  assert.equal(job.status, 0, job.stderr);
  const results = JSON.parse(job.stdout) as Array<{ file: string; result: { predictions: unknown[] } }>;
  assert.equal(results.length, 2, job.stdout);
  assert.ok(
    results.every((x) => x.result.predictions.length > 0),
    job.stdout,
  );
}
