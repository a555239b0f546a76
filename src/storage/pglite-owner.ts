import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { StartupError } from '../errors.ts';

/** What to do when another process has the PGlite directory open. */
export type WhenInUse = 'take-over' | 'refuse';

/**
 * PGlite has no lock of its own: two processes on one data directory each keep their own
 * copy in memory and overwrite each other's writes. Roles record themselves in
 * `<dir>.owner` (pid and host); one-shot commands (`loupe keys`) refuse to open a directory
 * that a live process on this host, or any process on another host, has recorded. Roles never
 * refuse: a file left by a crash must not keep a service down.
 * Returns the release function (removes the file if it still names this process).
 */
export function claimDataDir(dir: string, whenInUse: WhenInUse): () => void {
  const file = `${dir}.owner`;
  const me = { pid: process.pid, host: os.hostname() };
  const owner = readOwner(file);
  if (whenInUse === 'refuse' && owner && inUse(owner, me)) {
    throw new StartupError(
      `the embedded database ${dir} is open in another Loupe process (pid ${owner.pid} on host ${owner.host}): stop it first (PGlite serves one process at a time); if none runs, delete ${file}`,
    );
  }
  writeFileSync(file, JSON.stringify(me));
  return () => {
    const now = readOwner(file);
    if (now?.pid === me.pid && now.host === me.host) rmSync(file, { force: true });
  };
}

interface Owner {
  pid: number;
  host: string;
}

function readOwner(file: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? { pid: o.pid, host: o.host } : undefined;
  } catch {
    return undefined;
  }
}

function inUse(owner: Owner, me: Owner): boolean {
  if (owner.host !== me.host) return true; // another container: its processes cannot be seen from here
  if (owner.pid === me.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
