/**
 * Model versions are whole numbers from 1 to MAX_VERSION. Above 2^53 - 1 a JavaScript number
 * no longer holds every integer: "99999999999999999999" would be stored as 100000000000000000000,
 * become the "latest" version, and leave no next number for the pull after it. Every place that
 * reads a version from outside (CLI flags, LOUPE_MODEL_URIS, store directory names, HTTP and
 * gRPC version strings) goes through parseVersion.
 */
export const MAX_VERSION = Number.MAX_SAFE_INTEGER;

/** What a version may be, for messages. */
export const VERSION_RULE = `versions are whole numbers from 1 to ${MAX_VERSION}`;

/**
 * A version written in decimal digits ("01" is 1), or undefined when it is not one or is out of
 * range (0, or above MAX_VERSION).
 */
export function parseVersion(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const digits = text.replace(/^0+/, '');
  if (digits.length === 0 || digits.length > 16) return undefined;
  const n = Number(digits);
  return isVersion(n) ? n : undefined;
}

/** Whether a number is a version a model may have: a whole number from 1 to MAX_VERSION. */
export function isVersion(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_VERSION;
}

/** Whether `text` is all digits but outside 1..MAX_VERSION: a version no model can have. */
export function isOutOfRangeVersion(text: string): boolean {
  return /^\d+$/.test(text) && parseVersion(text) === undefined;
}
