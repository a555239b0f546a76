/**
 * One read shared by every gauge collected in a scrape (prom-client starts their collect()s
 * together) and, with `ttlMs` > 0, by the scrapes within `ttlMs` after it (several Prometheus
 * replicas, a dashboard refreshing): a scrape costs one read, not one per gauge. A read that
 * fails gives undefined, so the gauges keep their last values rather than failing the scrape.
 */
export function sharedRead<T>(read: () => Promise<T>, ttlMs: number): () => Promise<T | undefined> {
  let last: Promise<T | undefined> | undefined;
  const forget = () => (last = undefined);
  return () =>
    (last ??= read()
      .catch(() => undefined)
      .finally(() => (ttlMs > 0 ? setTimeout(forget, ttlMs).unref() : forget())));
}
