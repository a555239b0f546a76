import type { ReplicaOutcome } from '../../inference/index.ts';
import { ApiClient, ApiError } from '../client/http.ts';
import { DEFAULT_URL, serverUrl } from '../client/options.ts';
import { UsageError } from '../flags.ts';
import { parseFlags } from '../parse-flags.ts';

/**
 * `loupe models load|unload <name>`: Triton's model control on a running server (admin key;
 * the server in LOUPE_MODEL_CONTROL=explicit). Exit 0 when it changed everywhere, else 1.
 */
export async function controlModel(op: 'load' | 'unload', argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { url: { type: 'string' }, key: { type: 'string' }, config: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('give one model name');
  const name = positionals[0]!;
  const config = values.config;
  if (config !== undefined && op === 'unload') throw new UsageError('--config is for load');
  if (config !== undefined) {
    try {
      JSON.parse(config);
    } catch {
      throw new UsageError('--config must be a JSON Triton model config, e.g. \'{"max_batch_size": 8}\'');
    }
  }
  const url = serverUrl(values.url ?? process.env.LOUPE_URL ?? DEFAULT_URL);
  const key = values.key ?? (process.env.LOUPE_API_KEY || undefined);
  // No retries: a load is not repeated behind the user's back (it is idempotent, but slow).
  const client = new ApiClient({ url, key, retries: 0 });
  try {
    const { body } = await client.json<{ replicas?: ReplicaOutcome[] }>({
      method: 'POST',
      path: `v2/repository/models/${encodeURIComponent(name)}/${op}`,
      body: () => JSON.stringify(config !== undefined ? { parameters: { config } } : {}),
    });
    if (values.json) console.log(JSON.stringify(body, null, 2));
    else {
      console.log(`${op === 'load' ? 'loaded' : 'unloaded'} ${name}`);
      for (const r of body.replicas ?? []) console.log(`  ${r.replica}: ok`);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    console.error(`loupe models ${op}: ${err.describe()}`);
    return 1;
  } finally {
    await client.close();
  }
}
