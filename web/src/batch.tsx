import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api, uploadForm, type Job } from './api.ts';
import { jobCsv } from './batch-export.ts';
import { finished, mergeJobs, planBatch } from './batch-jobs.ts';
import { DropZone, ErrorBox, TopKField, pct } from './parts.tsx';
import type { ModelChoice } from './settings.tsx';

/** Offers `text` as a file download, made in the browser (no request). */
export function download(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** "4 done, 1 failed" once finished (a failed image is not "done"); "3 of 5 processed" on the way. */
function progressText(p: Job['progress'], over: boolean): string {
  const failed = p.failed ? `, ${p.failed} failed` : '';
  return over ? `${p.done} done${failed}` : `${p.done + p.failed} of ${p.total} processed${failed}`;
}

/** Short words for the server's warnings, to fit a table cell. */
const WARNING_WORDS: Record<string, string> = {
  COLOR_IMAGE: 'colour image',
  LARGE_IMAGE: 'far larger than the model input',
  LIGHT_BACKGROUND: 'light background',
  DARK_BACKGROUND: 'dark background',
};

/**
 * Many images as one job (POST /jobs), or as several when they are more than the server takes
 * in one (its GET /limits), polled until they finish, with per-image results shown as one.
 */
export function Batch({ apiKey, model }: { apiKey: string; model: ModelChoice }) {
  const [files, setFiles] = useState<File[]>([]);
  const [topK, setTopK] = useState(3);
  const [job, setJob] = useState<Job>();
  const [jobCount, setJobCount] = useState(1);
  const [note, setNote] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => setError(undefined), [apiKey]); // a new key: the old refusal no longer applies
  const run = useRef(0); // a newer submission (or leaving the page) ends an older poll
  useEffect(
    () => () => {
      run.current++;
    },
    [],
  );

  const submit = async () => {
    const mine = ++run.current;
    setBusy(true);
    setError(undefined);
    setJob(undefined);
    setNote(undefined);
    try {
      const plan = await planBatch(apiKey, files);
      if (run.current !== mine) return;
      setNote(plan.why);
      setJobCount(plan.jobs.length);
      const fields = { model: model.name, version: model.version, top_k: String(topK) };
      const ids: string[] = [];
      for (const group of plan.jobs) {
        const part = group.map((i) => files[i]!);
        const body = uploadForm(part, fields);
        ids.push((await api<{ id: string }>(apiKey, '/jobs', { method: 'POST', body })).id);
        if (run.current !== mine) return;
      }
      const latest: Job[] = [];
      for (let delay = 300; run.current === mine; delay = Math.min(delay * 1.5, 2000)) {
        try {
          for (const [n, id] of ids.entries())
            if (!latest[n] || !finished(latest[n])) latest[n] = await api<Job>(apiKey, `/jobs/${id}`);
          if (run.current !== mine) return;
          setJob(mergeJobs(latest, plan.jobs));
          if (latest.every(finished)) break;
        } catch (e) {
          // Busy or rate-limited: wait as long as the server asks, then poll again.
          if (!(e instanceof ApiError) || (e.status !== 429 && e.status !== 503)) throw e;
          delay = (e.retryAfterS ?? 1) * 1000;
        }
        await sleep(delay);
      }
    } catch (e) {
      if (run.current === mine) setError(e);
    } finally {
      if (run.current === mine) setBusy(false);
    }
  };

  const p = job?.progress;
  const settled = p ? p.done + p.failed : 0;
  return (
    <section aria-labelledby="batch-title">
      <h2 id="batch-title">Classify many images as one job</h2>
      <DropZone id="batch-files" multiple onFiles={(f) => setFiles((old) => [...old, ...f])}>
        <p>Drop images here, or</p>
      </DropZone>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <span>
          {files.length} image{files.length === 1 ? '' : 's'} chosen (
          {(files.reduce((n, f) => n + f.size, 0) / 1024).toFixed(0)} KiB)
        </span>
        <TopKField id="batch-top-k" label="Labels per image" value={topK} onChange={setTopK} />
        <button type="submit" disabled={busy || files.length === 0}>
          Start job
        </button>
        <button type="button" disabled={busy || files.length === 0} onClick={() => setFiles([])}>
          Clear
        </button>
      </form>
      <ErrorBox error={error} hasKey={apiKey !== ''} />
      {note && (
        <p class="meta" role="status">
          {note}.
        </p>
      )}
      {job && p && (
        <div class="job">
          <label for="job-progress">
            {jobCount > 1 ? `${jobCount} jobs` : 'Job'} {job.status}: {progressText(p, finished(job))}
          </label>
          <progress id="job-progress" max={p.total} value={settled} />
          {finished(job) && (
            <div class="row">
              <button type="button" onClick={() => download(`loupe-job-${job.id}.csv`, 'text/csv', jobCsv(job))}>
                Download CSV
              </button>
              <button
                type="button"
                onClick={() => download(`loupe-job-${job.id}.json`, 'application/json', JSON.stringify(job, null, 2))}
              >
                Download JSON
              </button>
            </div>
          )}
          <div class="scroll">
            <table class="items stack">
              <caption>Per-image results</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">File</th>
                  <th scope="col">Status</th>
                  <th scope="col">Top label</th>
                  <th scope="col">Score</th>
                </tr>
              </thead>
              <tbody>
                {job.items.map((it) => {
                  const top = it.result?.predictions[0];
                  const warnings = it.result?.warnings ?? [];
                  return (
                    <tr key={it.index}>
                      <td data-label="#">{it.index + 1}</td>
                      <td data-label="File">{it.filename ?? '—'}</td>
                      <td data-label="Status">{it.status}</td>
                      <td data-label="Top label">
                        <span>
                          {top?.label ?? it.error?.message ?? '—'}
                          {warnings.length > 0 && (
                            <span class="meta">
                              {' '}
                              (may mean little: {warnings.map((w) => WARNING_WORDS[w.code] ?? w.code).join(', ')})
                            </span>
                          )}
                        </span>
                      </td>
                      <td data-label="Score">{top ? pct(top.score) : ''}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
