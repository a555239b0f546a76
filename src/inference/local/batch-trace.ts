import type { SpanAttributes, TraceSpan, Tracing } from '../../observability/index.ts';

/** What tracing needs of a queued item: its submitter's span (if any) and when it was queued. */
export interface TracedItem {
  readonly span: TraceSpan | undefined;
  readonly enqueuedAt: number;
}

/**
 * The spans of one batcher run (tracing on; undefined off). One run is shared by several
 * requests: its `loupe.batch` span is linked to each request's span (OTel's pattern for
 * batches) and is the child of the first, so a lone request's trace is whole without the run
 * being recorded once per request. Each request's wait, up to `assembling`, is its own
 * `loupe.queue` span.
 */
export function traceRun(
  tracing: Tracing | undefined,
  attributes: SpanAttributes | undefined,
  items: readonly TracedItem[],
  assembling: number,
): TraceSpan | undefined {
  if (!tracing?.enabled) return undefined;
  for (const it of items)
    if (it.span)
      tracing.start('loupe.queue', { parent: it.span, startTime: it.enqueuedAt, attributes }).end(assembling);
  return tracing.start('loupe.batch', {
    parent: items[0]!.span,
    links: items.map((it) => it.span),
    attributes: { ...attributes, 'loupe.batch.size': items.length },
  });
}
