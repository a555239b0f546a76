/** Why a pull failed, in one line a user can act on (the CLI prints the message alone). */
export class PullError extends Error {
  override name = 'PullError';
}

/** decodeURIComponent whose malformed escape (`%E0`) is a PullError naming the source. */
export function decodePart(part: string, source: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PullError(`${source}: malformed %-escape in "${part}"`);
  }
}

/** Bytes for people: 1.5 MiB, 97.7 MiB, 2.0 GiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
