import { opendir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../flags.ts';

/** What the server decodes (it reads the format from the bytes; the name only picks files in a directory). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export const isImageName = (name: string) => IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());

export interface WalkCounts {
  /** Files found to send so far, and whether the walk is over (then `found` is the total). */
  found: number;
  finished: boolean;
  /** Files inside a directory that were not sent: their names are not of an image format. */
  skipped: number;
}

/** Every path must exist before anything is sent: a typo is a usage error, not a failed upload. */
export async function checkPaths(paths: readonly string[]): Promise<void> {
  if (paths.length === 0) throw new UsageError('give one or more image files or directories');
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new UsageError(`${p}: no such file or directory`);
    if (!s.isFile() && !s.isDirectory()) throw new UsageError(`${p}: not a file or directory`);
  }
}

/**
 * The files to send, as they are found: a file named on the command line is sent whatever it
 * is (the server refuses what it cannot decode, and that counts as failed); a directory is
 * walked depth-first, one directory handle per level open at a time, so a directory of a
 * million files costs no more memory than one of ten. In directories only image extensions
 * are taken (others are counted in `counts.skipped`); symbolic links to files are followed,
 * links to directories are not (no loops).
 */
export async function* walk(paths: readonly string[], counts: WalkCounts): AsyncGenerator<string> {
  for (const p of paths) {
    if ((await stat(p)).isDirectory()) yield* walkDir(p, counts);
    else {
      counts.found++;
      yield p;
    }
  }
  counts.finished = true;
}

async function* walkDir(dir: string, counts: WalkCounts): AsyncGenerator<string> {
  const subdirs: string[] = [];
  // Files first, then the subdirectories (their names are all that is kept).
  for await (const entry of await opendir(dir)) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) subdirs.push(full);
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isFile())) {
      if (isImageName(entry.name)) {
        counts.found++;
        yield full;
      } else counts.skipped++;
    }
  }
  for (const sub of subdirs.sort()) yield* walkDir(sub, counts);
}
