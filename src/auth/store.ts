import { StartupError } from '../errors.ts';
import type { Database } from '../storage/index.ts';
import { generateKey, keyIdOf, keyMatches } from './key-format.ts';
import type { FileKey } from './keys-file.ts';
import type { Principal, Scope } from './principal.ts';

/** A key as `loupe keys list` shows it: everything but its hash. */
export interface ApiKeyInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** 'cli': made by `loupe keys create`; 'file': from LOUPE_API_KEYS_FILE. */
  readonly source: 'cli' | 'file';
  readonly created_at: string;
  readonly last_used_at: string | null;
  readonly revoked_at: string | null;
}

interface Row {
  id: string;
  name: string;
  scopes: string;
  source: 'cli' | 'file';
  created_at: Date | string;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

// Scopes travel as a comma-separated string: array parameters and results differ between
// node-postgres and PGlite, text does not.
const COLUMNS = `id, name, array_to_string(scopes, ',') AS scopes, source, created_at, last_used_at, revoked_at`;
const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
const toInfo = (r: Row): ApiKeyInfo => ({
  id: r.id,
  name: r.name,
  scopes: r.scopes.split(',') as Scope[],
  source: r.source,
  created_at: iso(r.created_at)!,
  last_used_at: iso(r.last_used_at),
  revoked_at: iso(r.revoked_at),
});

/** Last use is informational: written at most this often per key and process, not on every request. */
const TOUCH_EVERY_MS = 60_000;

/** API keys in the database (table api_keys): only their SHA-256 is stored. */
export class ApiKeyStore {
  private readonly db: Database;
  private readonly touched = new Map<string, number>();

  constructor(db: Database) {
    this.db = db;
  }

  /** A new key; the key itself is returned here and never again. */
  async create(name: string, scopes: readonly Scope[]): Promise<{ key: string; info: ApiKeyInfo }> {
    for (let attempt = 1; ; attempt++) {
      const k = generateKey();
      const { rows } = await this.db.query<Row>(
        `INSERT INTO api_keys (id, name, scopes, key_sha256, source)
         VALUES ($1, $2, string_to_array($3, ','), $4, 'cli')
         ON CONFLICT (id) DO NOTHING RETURNING ${COLUMNS}`,
        [k.id, name, scopes.join(','), k.sha256],
      );
      if (rows[0]) return { key: k.key, info: toInfo(rows[0]) };
      // 32-bit ids collide once in ~65,000 keys: draw another
      if (attempt === 5) throw new Error('could not find a free API key id');
    }
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
    return rows.map(toInfo);
  }

  /** Revokes a key for good (a revoked key is never valid again, even if a keys file lists it). */
  async revoke(id: string): Promise<'revoked' | 'already revoked' | 'unknown'> {
    const { rows } = await this.db.query<{ revoked: boolean }>(
      'SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = $1',
      [id],
    );
    if (!rows[0]) return 'unknown';
    if (rows[0].revoked) return 'already revoked';
    await this.db.query('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1', [id]);
    return 'revoked';
  }

  /** The principal of a presented key, or undefined when it is malformed, unknown or revoked. */
  async verify(key: string): Promise<Principal | undefined> {
    const id = keyIdOf(key);
    if (!id) return undefined;
    const { rows } = await this.db.query<{ name: string; scopes: string; key_sha256: string; revoked: boolean }>(
      `SELECT name, array_to_string(scopes, ',') AS scopes, key_sha256, revoked_at IS NOT NULL AS revoked
       FROM api_keys WHERE id = $1`,
      [id],
    );
    const r = rows[0];
    if (!r || !keyMatches(key, r.key_sha256) || r.revoked) return undefined;
    this.touch(id);
    return Object.freeze({ keyId: id, name: r.name, scopes: Object.freeze(r.scopes.split(',') as Scope[]) });
  }

  /** Keys that are not revoked. */
  async activeCount(): Promise<number> {
    const { rows } = await this.db.query<{ n: number | string }>(
      'SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL',
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Makes the database match LOUPE_API_KEYS_FILE: its keys are added (or take the file's name
   * and scopes), marked source=file; file keys it no longer lists are revoked. A key revoked
   * before stays revoked. Safe to run from several processes at once.
   */
  async syncFile(keys: readonly FileKey[]): Promise<{ listed: number; revoked: number }> {
    const ids = keys.map((k) => k.id).join(',');
    const { rows: existing } = await this.db.query<{ id: string; key_sha256: string }>(
      `SELECT id, key_sha256 FROM api_keys WHERE id = ANY(string_to_array($1, ','))`,
      [ids],
    );
    for (const e of existing) {
      const k = keys.find((f) => f.id === e.id)!;
      if (k.sha256 !== e.key_sha256)
        throw new StartupError(
          `LOUPE_API_KEYS_FILE: the id of key "${k.name}" (${k.id}) belongs to another key in the database; give that line a new key`,
        );
    }
    if (keys.length > 0) {
      const params: unknown[] = [];
      const values = keys.map(
        (k) =>
          `($${params.push(k.id)}, $${params.push(k.name)}, string_to_array($${params.push(k.scopes.join(','))}, ','), $${params.push(k.sha256)}, 'file')`,
      );
      await this.db.query(
        `INSERT INTO api_keys (id, name, scopes, key_sha256, source) VALUES ${values.join(', ')}
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, scopes = EXCLUDED.scopes, source = 'file'`,
        params,
      );
    }
    const { rows: gone } = await this.db.query<{ id: string }>(
      `UPDATE api_keys SET revoked_at = now()
       WHERE source = 'file' AND revoked_at IS NULL AND NOT (id = ANY(string_to_array($1, ','))) RETURNING id`,
      [ids],
    );
    return { listed: keys.length, revoked: gone.length };
  }

  private touch(id: string): void {
    const now = Date.now();
    if (now - (this.touched.get(id) ?? 0) < TOUCH_EVERY_MS) return;
    this.touched.set(id, now);
    this.db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [id]).catch(() => undefined);
  }
}
