import { ErrorCode, LoupeError } from '../../errors.ts';
import type { ModelCard } from '../../models/index.ts';
import type { RepositoryIndexEntry } from '../oip/index.ts';
import type { Metrics } from '../../observability/index.ts';
import type { ModelInfo, VersionStatus } from '../types.ts';
import { check, type Replica, type Replicas } from './replicas.ts';

/** How a model server describes one version at GET /models/{name}?version=N (the fields used here). */
interface RemoteModel extends Pick<ModelInfo, 'name' | 'version' | 'provider' | 'description' | 'labels'> {
  readonly card?: Omit<ModelCard, 'samples'> & { samples?: Array<{ name: string }> };
  /** Absent from model servers older than the field. */
  readonly precision?: ModelInfo['precision'];
  readonly inputs: ModelInfo['inputs'];
  readonly outputs: ModelInfo['outputs'];
  readonly preprocessing: ModelInfo['input'];
  readonly output_kind: ModelInfo['output_kind'];
  readonly batching: ModelInfo['batching'];
}

function toInfo(r: RemoteModel): ModelInfo {
  const { name, version, provider, description, labels, inputs, outputs, output_kind, batching } = r;
  const common = { format: 'onnx', platform: 'onnxruntime_onnx' } as const;
  return {
    name,
    version,
    ...common,
    inputs,
    outputs,
    labels,
    provider,
    input: r.preprocessing,
    output_kind,
    batching,
    description,
    card: r.card && { ...r.card, samples: (r.card.samples ?? []).map((x) => x.name) },
    precision: r.precision ?? 'fp32',
  };
}

/**
 * What the model service serves, as the gateway last read it, and what its store holds but
 * does not serve. Refreshes run one at a time (the poll's and the one after a load can
 * overlap), so an older, slower answer never overwrites a newer one.
 */
export class ModelList {
  models: ModelInfo[] = [];
  states: readonly VersionStatus[] = [];
  /** Why the last refresh failed; the list it had stays. */
  lastError: string | undefined;
  private readonly replicas: Replicas;
  private readonly metrics: Metrics;
  private running: Promise<void> = Promise.resolve();
  /** A refresh asked for but not started yet: every caller until it starts shares it. */
  private queued: Promise<void> | undefined;

  constructor(replicas: Replicas, metrics: Metrics) {
    this.replicas = replicas;
    this.metrics = metrics;
  }

  refresh(): Promise<void> {
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.reread();
    });
    this.running = this.queued;
    return this.queued;
  }

  private async reread(): Promise<void> {
    try {
      const models = await readModels(this.replicas);
      this.states = await storeStates(this.replicas);
      this.models = models;
      this.metrics.modelsLoaded.set(models.length);
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.replicas.opts.logger.warn(
        { err: this.lastError, url: this.replicas.opts.url },
        'model servers not reachable yet',
      );
    }
  }
}

/**
 * Every model version the model service serves: each replica's own list, with the details
 * from that same replica, put together (a union, the first replica in address order winning).
 * Replicas routinely disagree for a while (a load that failed on one, one restarted with only
 * its startup models): a model one replica lacks is not an error, nor is one that is gone by
 * the time its details are asked (404). A replica that cannot answer is left out; throws only
 * when none answers.
 */
export async function readModels(replicas: Replicas): Promise<ModelInfo[]> {
  const targets = await replicas.all();
  let firstError: unknown;
  const lists = await Promise.all(
    targets.map((r) =>
      modelsOf(replicas, r).catch((err: unknown) => {
        firstError ??= err;
        replicas.opts.logger.warn(
          { origin: r.origin, err: (err as Error).message },
          'model server left out of the model list',
        );
        return undefined;
      }),
    ),
  );
  const answered = lists.filter((l) => l !== undefined);
  if (answered.length === 0) throw new Error(`no model server answered (${(firstError as Error).message})`);
  const union = new Map<string, ModelInfo>();
  for (const m of answered.flat()) if (!union.has(`${m.name}/${m.version}`)) union.set(`${m.name}/${m.version}`, m);
  return [...union.values()];
}

async function modelsOf(replicas: Replicas, replica: Replica): Promise<ModelInfo[]> {
  const get = async <T>(path: string): Promise<T> =>
    JSON.parse(check(await replicas.request(replica, { method: 'GET', path })).body.toString('utf8')) as T;
  const list = await get<{ models: Array<{ name: string; versions: string[] }> }>('/models');
  const infos: ModelInfo[] = [];
  for (const m of list.models)
    for (const v of m.versions) {
      try {
        infos.push(toInfo(await get<RemoteModel>(`/models/${encodeURIComponent(m.name)}?version=${v}`)));
      } catch (err) {
        if (!(err instanceof LoupeError && err.code === ErrorCode.ModelNotFound)) throw err;
      }
    }
  return infos;
}

/**
 * The versions a model server has in its store but does not serve (unloaded, not loaded,
 * failed), from its repository index, so the gateway's index shows them too. The replicas
 * share one store; what one says stands for all. A model server too old to say: none.
 */
export async function storeStates(replicas: Replicas): Promise<VersionStatus[]> {
  try {
    const answer = await replicas.send('POST', '/v2/repository/index', Buffer.from('{}'), {
      'content-type': 'application/json',
    });
    const index = JSON.parse(answer.body.toString('utf8')) as RepositoryIndexEntry[];
    return index.flatMap((e) =>
      e.state === 'READY' || e.version === undefined
        ? []
        : [{ name: e.name, version: e.version, state: e.state, reason: e.reason ?? '' }],
    );
  } catch {
    return [];
  }
}
