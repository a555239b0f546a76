import type { ApiKeyInfo, Scope } from '../../auth/index.ts';
import { ApiClient } from '../client/http.ts';
import type { KeyOps } from './ops.ts';

/**
 * The key commands against a running server's keys API (POST/GET/DELETE /keys, an admin key):
 * the server's own database is used while it runs, and a change counts from its next request.
 */
export function remoteKeys(url: URL, key: string | undefined): KeyOps & { close(): Promise<void> } {
  // One try: a key command is not worth retrying behind a person's back.
  const client = new ApiClient({ url, key, retries: 0 });
  return {
    create: async (name: string, scopes: readonly Scope[]) =>
      (
        await client.json<{ key: string; info: ApiKeyInfo }>({
          method: 'POST',
          path: 'keys',
          body: () => JSON.stringify({ name, scopes }),
        })
      ).body,
    list: async () => (await client.json<{ keys: ApiKeyInfo[] }>({ method: 'GET', path: 'keys' })).body.keys,
    revoke: async (id: string) => {
      const { body } = await client.json<{ already: boolean }>({ method: 'DELETE', path: `keys/${id}` });
      return body.already ? 'already revoked' : 'revoked';
    },
    close: () => client.close(),
  };
}
