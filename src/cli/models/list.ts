import { loadConfig } from '../../config/index.ts';
import { scanStore } from '../../models/index.ts';
import type { ModelBody } from '../../http/index.ts';
import type { Static } from 'typebox';
import { ApiClient, ApiError } from '../client/http.ts';
import { serverUrl } from '../client/options.ts';
import { parseFlags } from '../parse-flags.ts';
import { alignColumns } from '../table.ts';

/** One model as `loupe models list` shows it, from the store's files or from a server. */
export interface ModelRow {
  readonly name: string;
  readonly versions: readonly string[];
  /** Store: every version's files are complete and consistent; server: loaded and served. */
  readonly ready: boolean;
  readonly problem?: string;
  /** e.g. "28x28 grayscale". */
  readonly input: string;
  readonly labels: readonly string[];
}

/** `loupe models list`: exit 0, or 1 when a model in the store is broken or the server refused. */
export async function listModels(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    { store: { type: 'string' }, url: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } },
    false,
  );
  let rows: ModelRow[];
  if (values.url !== undefined) {
    try {
      rows = await fromServer(serverUrl(values.url), values.key ?? (process.env.LOUPE_API_KEY || undefined));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      console.error(`loupe models list: ${err.describe()}`);
      return 1;
    }
  } else rows = fromStore(values.store ?? loadConfig().LOUPE_MODEL_STORE);
  console.log(values.json ? JSON.stringify(rows, null, 2) : modelTable(rows));
  return rows.every((r) => r.ready) ? 0 : 1;
}

function fromStore(store: string): ModelRow[] {
  const scan = scanStore(store);
  const names = [...new Set([...scan.entries.map((e) => e.name), ...scan.problems.map((p) => p.name)])].sort();
  return names.map((name) => {
    const entries = scan.entries.filter((e) => e.name === name);
    const problem = scan.problems.find((p) => p.name === name);
    const latest = entries.at(-1);
    const i = latest?.config.input;
    return {
      name,
      versions: entries.map((e) => e.version),
      ready: problem === undefined && latest !== undefined,
      ...(problem ? { problem: `${problem.version ? `${problem.version}: ` : ''}${problem.error}` } : {}),
      input: i ? `${i.width}x${i.height} ${i.color}` : '-',
      labels: latest?.labels ?? [],
    };
  });
}

async function fromServer(url: URL, key: string | undefined): Promise<ModelRow[]> {
  const client = new ApiClient({ url, key, retries: 0 });
  type Model = Static<typeof ModelBody>;
  try {
    const { body } = await client.json<{ models: Model[] }>({ method: 'GET', path: 'models' });
    return await Promise.all(
      body.models.map(async (m) => {
        // GET /models describes each model whole; a server older than that lists no labels,
        // and its GET /models/{name} has them.
        const full =
          m.labels !== undefined
            ? m
            : (await client.json<Model>({ method: 'GET', path: `models/${encodeURIComponent(m.name)}` })).body;
        const p = full.preprocessing;
        // Listed by the server means loaded: it lists only what it serves.
        return {
          name: m.name,
          versions: m.versions,
          ready: true,
          input: `${p.width}x${p.height} ${p.color}`,
          labels: full.labels ?? [],
        };
      }),
    );
  } finally {
    await client.close();
  }
}

/** Labels are many (ImageNet: 1000): the count and the first few. */
const labelCells = (labels: readonly string[]) =>
  labels.length === 0 ? '-' : `${labels.length}: ${labels.slice(0, 4).join(', ')}${labels.length > 4 ? ', …' : ''}`;

function modelTable(rows: readonly ModelRow[]): string {
  const cells = [
    ['NAME', 'VERSIONS', 'READY', 'INPUT', 'LABELS'],
    ...rows.map((r) => [
      r.name,
      r.versions.join(',') || '-',
      r.ready ? 'yes' : `no (${r.problem ?? 'no versions'})`,
      r.input,
      labelCells(r.labels),
    ]),
  ];
  return alignColumns(cells);
}
