import { ErrorCode, LoupeError } from '../../errors.ts';
import { check, type Answer, type Replica, type ReplicaRequest, type Replicas } from './replicas.ts';

/** How long one replica may take to answer a question put to all of them (statistics). */
const EVERY_REPLICA_TIMEOUT_MS = 5000;

/** One replica's part of a fan-out: its answer, or why the exchange failed. */
export type Part = { readonly replica: Replica } & (
  { readonly answer: Answer; readonly error?: undefined } | { readonly answer?: undefined; readonly error: unknown }
);

/**
 * `req` to every replica at once (re-resolved first, so a new one is asked too), each as its
 * own client span; never retried elsewhere, since each replica's own answer is the point. In
 * address order, whichever replica the round-robin started with: a report reads the same each time.
 */
export async function askEvery(replicas: Replicas, req: ReplicaRequest): Promise<Part[]> {
  const targets = await replicas.all();
  const parts = await Promise.all(
    targets.map(async (replica): Promise<Part> => {
      try {
        return { replica, answer: await replicas.request(replica, req) };
      } catch (error) {
        return { replica, error };
      }
    }),
  );
  return parts.sort((a, b) => (a.replica.host < b.replica.host ? -1 : a.replica.host > b.replica.host ? 1 : 0));
}

/**
 * GET `path` from every replica, for what each knows of itself alone (statistics): the 2xx
 * answers' JSON. A replica that is down, hung or failing is logged and left out; throws
 * NOT_READY when none answers, and a replica's 4xx as its LoupeError.
 */
export async function everyReplica<T>(replicas: Replicas, path: string): Promise<T[]> {
  const { logger, retryAfterS } = replicas.opts;
  const parts = await askEvery(replicas, { method: 'GET', path, timeoutMs: EVERY_REPLICA_TIMEOUT_MS });
  const ok: T[] = [];
  for (const { replica, answer, error } of parts) {
    if (answer && answer.status < 500) ok.push(JSON.parse(check(answer).body.toString('utf8')) as T);
    else if (answer)
      logger.warn({ origin: replica.origin, status: answer.status, path }, 'model server failed; its part is left out');
    else
      logger.warn(
        { origin: replica.origin, err: (error as Error).message, path },
        'model server unreachable; its part is left out',
      );
  }
  if (ok.length === 0) throw new LoupeError(ErrorCode.NotReady, 'no model server answered', { retryAfterS });
  return ok;
}
