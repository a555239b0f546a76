import { parseArgs } from 'node:util';
import { ApiKeyStore, KEY_ID_RE, KEY_NAME_RE, parseScopes, type ApiKeyInfo } from '../auth/index.ts';
import { loadConfig } from '../config/index.ts';
import { createLogger } from '../observability/index.ts';
import { migrate, openDatabase } from '../storage/index.ts';

export const KEYS_USAGE = `Usage:
  loupe keys create --name <name> --scope predict|read|admin [--scope …]
                                  prints the new key once, on stdout
  loupe keys list [--json]        id, name, scopes, source, created, last used, revoked
  loupe keys revoke <id>          the key stops working at once; revocation is final`;

/**
 * `loupe keys …`: API keys in the database the roles use (LOUPE_DATABASE_URL, or PGlite in
 * LOUPE_DATA_DIR, which must not be open in a running `serve`), migrated first if needed.
 * Only the key goes to stdout; everything else goes to stderr.
 */
export async function runKeys(argv: string[]): Promise<number> {
  const usage = (problem: string) => {
    console.error(`${problem}\n\n${KEYS_USAGE}`);
    return 2;
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        scope: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { positionals, values } = parsed;
  const [sub, ...rest] = positionals;
  if (sub === 'create') {
    if (!values.name || !KEY_NAME_RE.test(values.name)) return usage('--name is needed: 1-64 of A-Z a-z 0-9 . _ @ : -');
    const scopes = parseScopes((values.scope ?? []).flatMap((s) => s.split(',')));
    if (typeof scopes === 'string') return usage(`--scope: ${scopes}`);
    const { key, info } = await withStore((keys) => keys.create(values.name!, scopes));
    console.log(key);
    console.error(
      `created API key ${info.id} "${info.name}" (scopes: ${info.scopes.join(', ')}). It is shown only this once: store it now.`,
    );
    return 0;
  }
  if (sub === 'list') {
    const keys = await withStore((k) => k.list());
    if (values.json) console.log(JSON.stringify(keys, null, 2));
    else console.log(table(keys));
    return 0;
  }
  if (sub === 'revoke') {
    const id = rest[0];
    if (!id || rest.length > 1 || !KEY_ID_RE.test(id))
      return usage('revoke takes one key id (8 hex characters, as `loupe keys list` shows)');
    const outcome = await withStore((keys) => keys.revoke(id));
    if (outcome === 'unknown') {
      console.error(`no API key ${id}`);
      return 1;
    }
    console.error(outcome === 'revoked' ? `revoked API key ${id}` : `API key ${id} was already revoked`);
    return 0;
  }
  return usage(sub ? `unknown keys command "${sub}"` : 'keys needs a command');
}

async function withStore<T>(fn: (keys: ApiKeyStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.LOUPE_LOG_LEVEL, { destination: process.stderr }).child({ role: 'keys' });
  const db = await openDatabase({
    url: config.LOUPE_DATABASE_URL,
    password: config.databasePassword,
    dataDir: config.LOUPE_DATA_DIR,
    seed: config.LOUPE_PGLITE_SEED || undefined,
    whenInUse: 'refuse',
  });
  try {
    const m = await migrate(db);
    if (m.to !== m.from) logger.info(m, `database migrated from version ${m.from} to ${m.to}`);
    return await fn(new ApiKeyStore(db));
  } finally {
    await db.close();
  }
}

function table(keys: readonly ApiKeyInfo[]): string {
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
