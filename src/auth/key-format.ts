import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * An API key is `lp_<id>_<secret>`: `id` is 8 lowercase hex characters, public (listing,
 * revocation, logs, record owners); `secret` is 32 random bytes in base64url. Keys are stored
 * only as the SHA-256 of the whole key: with 256 bits of entropy a fast hash is enough (no
 * password KDF needed), and a leaked table gives no usable key.
 */
const KEY_RE = /^lp_([0-9a-f]{8})_([A-Za-z0-9_-]{43,128})$/;
export const KEY_ID_RE = /^[0-9a-f]{8}$/;

export interface NewKey {
  readonly id: string;
  readonly key: string;
  readonly sha256: string;
}

export function generateKey(): NewKey {
  const id = randomBytes(4).toString('hex');
  const key = `lp_${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, sha256: hashKey(key) };
}

/** The key's public id, or undefined when the string is not a Loupe API key at all. */
export function keyIdOf(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

/** SHA-256 of the whole key, hex: what the database stores. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Whether `key` hashes to `storedSha256`, compared in constant time. */
export function keyMatches(key: string, storedSha256: string): boolean {
  const stored = Buffer.from(storedSha256, 'hex');
  const given = createHash('sha256').update(key, 'utf8').digest();
  return stored.length === given.length && timingSafeEqual(stored, given);
}
