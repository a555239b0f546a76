import type { ApiKeyInfo, ApiKeyStore } from '../../auth/index.ts';

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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
