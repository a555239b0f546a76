/**
 * Runs `work` on each item with at most `concurrency` at once, taking items from `source` only
 * as places free up (a huge source is never read ahead). Once `signal` is aborted no new item
 * is taken; those in flight finish. Workers share one iterator: an async generator queues
 * concurrent `next()` calls.
 */
export async function forEachLimited<T>(
  source: AsyncIterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  const worker = async () => {
    while (!signal?.aborted) {
      const next = await it.next();
      if (next.done) return;
      await work(next.value);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await it.return?.(); // closes what the source holds open (a directory handle) when stopped early
  }
}
