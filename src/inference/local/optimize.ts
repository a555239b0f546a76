import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Same extension as this file: .ts from the sources, .js once built.
const SCRIPT = fileURLToPath(new URL(`./optimize-graph${path.extname(import.meta.url)}`, import.meta.url));
const PREFIX = 'loupe-graph-';
const TIMEOUT_MS = 300_000;

export interface OptimizedGraph {
  /** The optimized model: load it with graph optimizations disabled, then call `dispose`. */
  readonly path: string;
  readonly dispose: () => void;
}

/**
 * ONNX Runtime's graph optimizer (constant folding, NCHWc layout, fusions) runs in a
 * short-lived child process; the server loads the result with optimizations off. In-process,
 * the optimizer's working memory stays resident for the server's life: ResNet-18's session
 * costs ~165 MB RSS that way and ~75 MB this way, with the same kernels, the same img/s and
 * bit-identical outputs (docs/performance.md, "Memory"). The file is written for this machine's CPU, so it
 * is never kept or shared: it lives in a temporary directory until the session has read it.
 * Returns the reason instead when the child cannot do it; the caller then optimizes in-process.
 */
export async function optimizeInChild(model: string, timeoutMs = TIMEOUT_MS): Promise<OptimizedGraph | string> {
  const tmp = os.tmpdir();
  removeOrphans(tmp, timeoutMs);
  let dir: string;
  try {
    // The copy is as big as the model; a full /tmp (a tmpfs, a sized emptyDir) must not fail the load.
    const free = freeBytes(tmp);
    const need = statSync(model).size * 1.1 + 16 * 2 ** 20;
    if (free < need) return `${tmp} has ${mib(free)} free, the optimized copy needs ~${mib(need)}`;
    dir = mkdtempSync(path.join(tmp, PREFIX));
  } catch (err) {
    return `no temporary directory: ${(err as Error).message}`;
  }
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  const out = path.join(dir, 'model.onnx');
  const failure = await new Promise<string | null>((resolve) => {
    const child = execFile(process.execPath, [SCRIPT, model, out], { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (!err) return resolve(existsSync(out) ? null : 'it wrote no model');
      if (err.killed) return resolve(`it took longer than ${Math.round(timeoutMs / 1000)} s`);
      resolve(stderr.trim().split('\n').at(-1)?.slice(0, 300) || err.message);
    });
    // Held open for the child's whole run: it exits when this process is gone (optimize-graph.ts).
    child.stdin?.on('error', () => {});
  });
  if (failure === null) return { path: out, dispose };
  dispose();
  return `the graph optimizer's child process failed: ${failure}`;
}

/**
 * Directories a killed server left behind. Nothing loads longer than the timeout, so one older
 * than that belongs to no live load, whichever process made it.
 */
function removeOrphans(tmp: string, timeoutMs: number): void {
  try {
    for (const name of readdirSync(tmp)) {
      if (!name.startsWith(PREFIX)) continue;
      const p = path.join(tmp, name);
      if (Date.now() - statSync(p).mtimeMs > timeoutMs + 60_000) rmSync(p, { recursive: true, force: true });
    }
  } catch {
    // another process's directory, or gone meanwhile: not ours to insist on
  }
}

function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
