import type { ApiKeyInfo, ApiKeyStore } from '../../auth/index.ts';
import { alignColumns } from '../table.ts';

/** What the key commands do, on the database (ApiKeyStore) or through a running server's keys API. */
export type KeyOps = Pick<ApiKeyStore, 'create' | 'list' | 'revoke'>;

export function keyTable(keys: readonly ApiKeyInfo[]): string {
  const when = (t: string | null) => (t ? t.replace(/\.\d+Z$/, 'Z') : '-');
  const rows = [
    ['ID', 'NAME', 'SCOPES', 'SOURCE', 'CREATED', 'LAST USED', 'REVOKED'],
    ...keys.map((k) => [
      k.id,
      k.name,
      k.scopes.join(','),
      k.source,
      when(k.created_at),
      when(k.last_used_at),
      when(k.revoked_at),
    ]),
  ];
  return alignColumns(rows);
}
