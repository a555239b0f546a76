import { realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Whether `file`, links resolved, lies inside `dir` (links resolved too). Links within a model's
 * directory are fine (Kubernetes mounts ConfigMaps as links into `..data/`); one that leaves it
 * would serve any file of this machine as labels (or as a sample image).
 */
export function isInside(file: string, dir: string): boolean {
  const rel = path.relative(realpathSync(dir), realpathSync(file));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
