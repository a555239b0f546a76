import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { MAX_VERSION, VERSION_RULE, parseVersion } from '../version.ts';
import { PullError } from './errors.ts';

/** Staging directories older than this (by their newest file) are a killed pull's leftovers. */
const STALE_MS = 60 * 60 * 1000;
export const STAGING_PREFIX = '.pull-';

const isTaken = (err: unknown) => ['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '');

/** Versions of a model in the store, ascending (directories outside 1..MAX_VERSION are not versions). */
export function versionsOf(store: string, name: string): number[] {
  const dir = path.join(store, name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map(parseVersion)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
}

/** The version after `v`, or a PullError when there is none within the range. */
export function nextVersion(v: number): number {
  if (v >= MAX_VERSION) throw new PullError(`no version is free after ${v}: ${VERSION_RULE}`);
  return v + 1;
}

/**
 * A pull's private directory inside the store (`<store>/.pull-XXXXXX`): on the store's own
 * filesystem, so publishing is one rename(2), and hidden, so the store scan skips it. The
 * entry is built under it as `<name>/<version>/`, then renamed into place whole — the model
 * directory when the model is new, else the version directory — so a server polling the
 * store sees nothing, then the complete version.
 */
export class Staging {
  readonly dir: string;
  private readonly store: string;

  constructor(store: string) {
    this.store = store;
    try {
      mkdirSync(store, { recursive: true });
    } catch (err) {
      throw new PullError(`cannot create the model store ${store}: ${(err as NodeJS.ErrnoException).code}`);
    }
    sweepStale(store);
    try {
      this.dir = mkdtempSync(path.join(store, STAGING_PREFIX));
    } catch (err) {
      throw new PullError(`cannot write to the model store ${store}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }

  /** The version directory being built, created on first use. */
  entryDir(name: string, version: number): string {
    const d = path.join(this.dir, name, String(version));
    mkdirSync(d, { recursive: true });
    return d;
  }

  /**
   * Moves `<name>/<version>` into the store and returns the version it got. Without an
   * explicit version, a version another pull took meanwhile moves this one to the next free
   * number; an explicit one that is taken is an error (a served version is never replaced).
   */
  publish(name: string, version: number, explicit: boolean): number {
    let v = version;
    for (let attempt = 0; attempt < 10; attempt++) {
      const staged = path.join(this.dir, name, String(v));
      for (const d of [this.dir, path.join(this.dir, name), staged]) chmodSync(d, 0o755);
      const modelDir = path.join(this.store, name);
      try {
        if (!existsSync(modelDir)) {
          renameSync(path.join(this.dir, name), modelDir);
          return v;
        }
      } catch (err) {
        if (!isTaken(err)) throw err; // made meanwhile: fall through to the version rename
      }
      try {
        renameSync(staged, path.join(modelDir, String(v)));
        return v;
      } catch (err) {
        if (!isTaken(err)) throw err;
        if (explicit)
          throw new PullError(`${name}/${v} already exists in the store; a served version is never replaced`);
        const next = nextVersion(Math.max(v, ...versionsOf(this.store, name)));
        renameSync(staged, path.join(this.dir, name, String(next)));
        v = next;
      }
    }
    throw new PullError(`${name}: could not find a free version number`);
  }

  /** Removes everything this pull wrote that was not published. Idempotent. */
  discard(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Removes `.pull-*` directories nothing has written to for an hour (a pull killed with -9). */
function sweepStale(store: string): void {
  const now = Date.now();
  for (const name of readdirSync(store)) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const dir = path.join(store, name);
    try {
      if (now - newestMtime(dir) > STALE_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      /* another pull's, removed meanwhile */
    }
  }
}

function newestMtime(p: string): number {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}
