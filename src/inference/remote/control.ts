import { LoupeError } from '../../errors.ts';
import {
  ReplicaControlError,
  checkControlTarget,
  tritonConfigOf,
  type ControlResult,
  type LoadOptions,
} from '../control.ts';
import type { RepositoryIndexEntry } from '../oip/index.ts';
import type { VersionStatus } from '../types.ts';
import type { Replicas } from './replicas.ts';

/**
 * Model control for the whole model service: every replica loads or unloads, and each one's
 * outcome is reported; a failure on any throws the first failure's error with the report.
 */
export async function fanOut(
  replicas: Replicas,
  op: 'load' | 'unload',
  name: string,
  opts: LoadOptions = {},
): Promise<ControlResult> {
  checkControlTarget(name);
  const body =
    op === 'load' && opts.batching
      ? { parameters: { config: JSON.stringify(tritonConfigOf(name, opts.batching)) } }
      : {};
  const path = `/v2/repository/models/${encodeURIComponent(name)}/${op}`;
  const outcomes = await replicas.postToEvery(path, JSON.stringify(body));
  const failed = outcomes.find((r) => 'error' in r);
  if (failed && 'error' in failed)
    throw new ReplicaControlError(new LoupeError(failed.error.code, failed.error.message), outcomes);
  return { replicas: outcomes };
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
