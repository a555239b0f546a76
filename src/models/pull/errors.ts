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

export { formatBytes } from '../../terminal/index.ts';
