import { ReplicaControlError, checkControlTarget, type ControlParameters, type ControlResult } from '../control.ts';
import type { RepositoryIndexEntry } from '../oip/index.ts';
import type { VersionStatus } from '../types.ts';
import type { Replicas } from './replicas.ts';

/**
 * Model control for the whole model service: every replica loads or unloads, and each one's
 * outcome is reported; a failure on any throws the first failure's error with the report.
 * The parameters go as the client gave them: each model server checks its control mode
 * before it reads them, so a poll server says MODEL_CONTROL_DISABLED, not "bad config".
 */
export async function fanOut(
  replicas: Replicas,
  op: 'load' | 'unload',
  name: string,
  parameters: ControlParameters,
): Promise<ControlResult> {
  checkControlTarget(name);
  const body = JSON.stringify(Object.keys(parameters).length ? { parameters } : {});
  const path = `/v2/repository/models/${encodeURIComponent(name)}/${op}`;
  const { outcomes, first } = await replicas.postToEvery(path, body);
  if (first) throw new ReplicaControlError(first, outcomes);
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
