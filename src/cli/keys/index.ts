import { KEY_ID_RE, KEY_NAME_RE, parseScopes } from '../../auth/index.ts';
import { ApiError } from '../client/http.ts';
import { serverUrl } from '../client/options.ts';
import { UsageError } from '../flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { keyTable, type KeyOps } from './ops.ts';

export const KEYS_USAGE = `Usage:
  loupe keys create --name <name> --scope predict|read|admin [--scope …] [--url URL [--key KEY]]
                                  prints the new key once, on stdout
  loupe keys list [--json] [--url URL [--key KEY]]
                                  id, name, scopes, source, created, last used, revoked
  loupe keys revoke <id> [--url URL [--key KEY]]
                                  the key stops working at once; revocation is final
Without --url: on the database the roles use (LOUPE_DATABASE_URL, or PGlite in LOUPE_DATA_DIR;
a running \`loupe serve\` holds its PGlite, so use --url then).
With --url: through that running server's keys API (POST/GET/DELETE /keys), with an admin key
(--key or --api-key, default $LOUPE_API_KEY): the change counts from its next request, no restart.`;

const FLAGS = {
  name: { type: 'string' },
  scope: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  url: { type: 'string' },
  key: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `loupe keys …`: only the key goes to stdout; everything else goes to stderr. Exit 0, 1 (failed), 2 (usage). */
export async function runKeys(argv: string[]): Promise<number> {
  const usage = (problem: string) => {
    console.error(`loupe keys: ${problem}\n\n${KEYS_USAGE}`);
    return 2;
  };
  let parsed;
  let url: URL | undefined;
  try {
    parsed = parseFlags(argv, FLAGS);
    url = parsed.values.url === undefined ? undefined : serverUrl(parsed.values.url);
  } catch (err) {
    if (err instanceof UsageError) return usage(err.message);
    throw err;
  }
  const { positionals, values } = parsed;
  if (values.help) {
    console.log(KEYS_USAGE);
    return 0;
  }
  const [sub, ...rest] = positionals;
  const key = values.key ?? values['api-key'] ?? (process.env.LOUPE_API_KEY || undefined);
  const run = async <T>(fn: (keys: KeyOps) => Promise<T>): Promise<T> => {
    if (!url) return (await import('./local.ts')).withLocalStore(fn);
    const remote = (await import('./remote.ts')).remoteKeys(url, key);
    try {
      return await fn(remote);
    } finally {
      await remote.close();
    }
  };
  try {
    if (sub === 'create') {
      if (!values.name || !KEY_NAME_RE.test(values.name))
        return usage('--name is needed: 1-64 of A-Z a-z 0-9 . _ @ : -');
      const scopes = parseScopes((values.scope ?? []).flatMap((s) => s.split(',')));
      if (typeof scopes === 'string') return usage(`--scope: ${scopes}`);
      const { key: made, info } = await run((keys) => keys.create(values.name!, scopes));
      console.log(made);
      console.error(
        `created API key ${info.id} "${info.name}" (scopes: ${info.scopes.join(', ')}). It is shown only this once: store it now.`,
      );
      return 0;
    }
    if (sub === 'list') {
      const keys = await run((k) => k.list());
      console.log(values.json ? JSON.stringify(keys, null, 2) : keyTable(keys));
      return 0;
    }
    if (sub === 'revoke') {
      const id = rest[0];
      if (!id || rest.length > 1 || !KEY_ID_RE.test(id))
        return usage('revoke takes one key id (8 hex characters, as `loupe keys list` shows)');
      const outcome = await run((keys) => keys.revoke(id));
      if (outcome === 'unknown') {
        console.error(`no API key ${id}`);
        return 1;
      }
      console.error(outcome === 'revoked' ? `revoked API key ${id}` : `API key ${id} was already revoked`);
      return 0;
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    console.error(`loupe keys ${sub}: ${err.describe()}`);
    return 1;
  }
  return usage(sub ? `unknown keys command "${sub}"` : 'keys needs a command');
}
