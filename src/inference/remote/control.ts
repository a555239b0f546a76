import { ErrorCode, LoupeError } from '../../errors.ts';
import {
  ReplicaControlError,
  checkControlTarget,
  type ControlParameters,
  type ControlResult,
  type ReplicaOutcome,
} from '../control.ts';
import { askEvery, type Part } from './every.ts';
import { check, type Replicas } from './replicas.ts';

/** A load builds sessions (a large model takes a while) and an unload drains the queue first. */
const CONTROL_TIMEOUT_MS = 120_000;

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
  const headers = { 'content-type': 'application/json' };
  const parts = await askEvery(replicas, { method: 'POST', path, body, headers, timeoutMs: CONTROL_TIMEOUT_MS });
  const failures = parts.map((p) => failureOf(replicas, p, path));
  const outcomes = parts.map(({ replica }, i): ReplicaOutcome => {
    const e = failures[i];
    return e
      ? { replica: replica.host, error: { code: e.code, message: e.message } }
      : { replica: replica.host, status: 'ok' };
  });
  const first = failures.find((e) => e !== undefined);
  if (first) throw new ReplicaControlError(first, outcomes);
  return { replicas: outcomes };
}

/** A replica's failure as the LoupeError it raised, or NOT_READY (with Retry-After) when it could not be reached. */
function failureOf(replicas: Replicas, { replica, answer, error }: Part, path: string): LoupeError | undefined {
  let e: LoupeError;
  try {
    if (answer) return void check(answer);
    const { retryAfterS } = replicas.opts;
    e = new LoupeError(ErrorCode.NotReady, `model server unreachable: ${(error as Error).message}`, { retryAfterS });
  } catch (err) {
    e = err as LoupeError;
  }
  replicas.opts.logger.warn({ origin: replica.origin, path, err: e.message }, 'model control failed on a model server');
  return e;
}
