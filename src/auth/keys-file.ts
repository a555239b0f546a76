import { readSecret } from '../config/shared/index.ts';
import { ConfigError } from '../errors.ts';
import { hashKey, keyIdOf } from './key-format.ts';
import { isScope, type Scope } from './principal.ts';

/** A key from LOUPE_API_KEYS_FILE, as kept after reading: its hash, never the key itself. */
export interface FileKey {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly sha256: string;
}

export const KEY_NAME_RE = /^[A-Za-z0-9._@:-]{1,64}$/;

/**
 * Parses a keys file: one key per line, `<name> <scope[,scope…]> <key>`, separated by blanks;
 * blank lines and lines starting with `#` are skipped. Throws an Error naming the line (and
 * never quoting it: the line holds a key).
 */
export function parseKeysFile(text: string): FileKey[] {
  const keys: FileKey[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `line ${i + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 3) throw new Error(`${where}: expected "<name> <scope,scope> <key>"`);
    const [name, scopeList, key] = fields as [string, string, string];
    if (!KEY_NAME_RE.test(name)) throw new Error(`${where}: the name must be 1-64 of A-Z a-z 0-9 . _ @ : -`);
    const scopes = parseScopes(scopeList.split(','));
    if (typeof scopes === 'string') throw new Error(`${where}: ${scopes}`);
    const id = keyIdOf(key);
    if (!id) throw new Error(`${where}: the key is not a Loupe API key (lp_<8 hex>_<43+ base64url characters>)`);
    if (seen.has(id)) throw new Error(`${where}: key id ${id} appears twice`);
    seen.add(id);
    keys.push(Object.freeze({ id, name, scopes, sha256: hashKey(key) }));
  });
  return keys;
}

/**
 * LOUPE_API_KEYS_FILE's keys, hashed; undefined when no file is named. Read by the roles that
 * answer the public API before they open anything, so a bad line exits 1 like any invalid
 * configuration: one line naming the line number, never quoting it (it holds a key).
 */
export function readKeysFile(file: string): readonly FileKey[] | undefined {
  const text = readSecret('LOUPE_API_KEYS_FILE', file);
  if (text === undefined) return undefined;
  try {
    return Object.freeze(parseKeysFile(text));
  } catch (err) {
    throw new ConfigError(`invalid configuration: LOUPE_API_KEYS_FILE ${(err as Error).message} (${file})`);
  }
}

/** Scopes from a list of names, without repeats; a message when one is not a scope. */
export function parseScopes(names: readonly string[]): readonly Scope[] | string {
  const scopes = new Set<Scope>();
  for (const s of names.map((n) => n.trim())) {
    // Not quoted: a line with its fields out of order would put a key here.
    if (!isScope(s)) return 'unknown scope (the scopes are predict, read and admin)';
    scopes.add(s);
  }
  if (scopes.size === 0) return 'at least one scope is needed (predict, read, admin)';
  return Object.freeze([...scopes]);
}
