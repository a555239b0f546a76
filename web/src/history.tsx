import { useEffect, useRef, useState } from 'preact/hooks';
import { api, withQuery, type ModelInfo, type PredictionRecord } from './api.ts';
import { ErrorBox, Labels, TimingTable, pct } from './parts.tsx';

const PAGE = 20;
const iso = (local: string) => (local ? new Date(local).toISOString() : undefined);
const when = (s: string) => new Date(s).toLocaleString();

interface Filters {
  model: string;
  since: string;
  until: string;
}

/** GET /predictions with filters and cursor paging; GET /predictions/:id for one record. */
export function History(props: {
  apiKey: string;
  models: ModelInfo[];
  selected: string;
  onSelect: (id: string) => void;
}) {
  const { apiKey } = props;
  const [draft, setDraft] = useState<Filters>({ model: '', since: '', until: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  // Cursors of the pages seen so far: the last is the current page's ('' is the first page).
  const [cursors, setCursors] = useState<string[]>(['']);
  const [page, setPage] = useState<{ items: PredictionRecord[]; next_cursor: string | null }>();
  const [error, setError] = useState<unknown>();
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    let live = true;
    setError(undefined);
    const q = { model: filters.model, since: iso(filters.since), until: iso(filters.until), limit: PAGE, cursor };
    api<typeof page>(apiKey, withQuery('/predictions', q)).then(
      (r) => live && setPage(r),
      (e: unknown) => live && (setError(e), setPage(undefined)),
    );
    return () => {
      live = false;
    };
  }, [apiKey, filters, cursor]);

  const set = (k: keyof Filters) => (e: { currentTarget: { value: string } }) =>
    setDraft({ ...draft, [k]: e.currentTarget.value });
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      <form
        class="row filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
          setCursors(['']);
        }}
      >
        <label for="history-model">Model</label>
        <select id="history-model" value={draft.model} onChange={set('model')}>
          <option value="">All models</option>
          {props.models.map((m) => (
            <option key={m.name} value={m.name}>
              {m.name}
            </option>
          ))}
        </select>
        <label for="history-since">From</label>
        <input id="history-since" type="datetime-local" value={draft.since} onInput={set('since')} />
        <label for="history-until">Until</label>
        <input id="history-until" type="datetime-local" value={draft.until} onInput={set('until')} />
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={error} hasKey={apiKey !== ''} />
      {page && (
        <>
          <div class="scroll">
            <table class="history stack">
              <caption>
                Predictions, newest first (page {cursors.length}
                {page.items.length === 0 ? ', none' : ''})
              </caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Model</th>
                  <th scope="col">Top label</th>
                  <th scope="col">Image</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((r) => (
                  <tr key={r.id} aria-current={r.id === props.selected ? 'true' : undefined}>
                    <td data-label="Time">{when(r.created_at)}</td>
                    <td data-label="Model">
                      {r.model.name} v{r.model.version}
                    </td>
                    <td data-label="Top label">
                      {r.predictions[0]?.label ?? '—'} {r.predictions[0] && `(${pct(r.predictions[0].score)})`}
                    </td>
                    <td data-label="Image">
                      {r.image.format} {r.image.width}×{r.image.height}
                      {r.job_id ? ' · job' : ''}
                    </td>
                    <td data-label="Details">
                      <button type="button" class="link" onClick={() => props.onSelect(r.id)}>
                        Show<span class="visually-hidden"> prediction {r.id}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div class="row">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
              Newer
            </button>
            <button
              type="button"
              disabled={!page.next_cursor}
              onClick={() => page.next_cursor && setCursors([...cursors, page.next_cursor])}
            >
              Older
            </button>
          </div>
        </>
      )}
      {props.selected && <Record apiKey={apiKey} id={props.selected} />}
    </section>
  );
}

function Record({ apiKey, id }: { apiKey: string; id: string }) {
  const [rec, setRec] = useState<PredictionRecord>();
  const [error, setError] = useState<unknown>();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    let live = true;
    setRec(undefined);
    setError(undefined);
    api<PredictionRecord>(apiKey, `/predictions/${encodeURIComponent(id)}`).then(
      (r) => live && setRec(r),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [apiKey, id]);
  useEffect(() => heading.current?.focus(), [rec]);
  return (
    <article class="record" aria-labelledby="record-title">
      <h3 id="record-title" tabIndex={-1} ref={heading}>
        Prediction {id}
      </h3>
      <ErrorBox error={error} hasKey={apiKey !== ''} />
      {rec && (
        <>
          <p class="meta">
            {when(rec.created_at)} · {rec.model.name} v{rec.model.version} · {rec.image.format} {rec.image.width}×
            {rec.image.height}, {rec.image.bytes} bytes{rec.job_id ? ` · job ${rec.job_id}` : ''}
          </p>
          <p class="meta mono">sha256 {rec.image.sha256}</p>
          <Labels items={rec.predictions} />
          <TimingTable timings={rec.timings_ms} />
          {Object.keys(rec.metadata).length > 0 && (
            <dl class="metadata">
              {Object.entries(rec.metadata).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
          )}
        </>
      )}
    </article>
  );
}
