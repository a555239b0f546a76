import { useEffect, useRef, useState } from 'preact/hooks';
import { api, uploadForm, withQuery, type ModelInfo, type Prediction } from './api.ts';
import { ModelCard } from './model-card.tsx';
import { DropZone, ErrorBox, Labels, TimingTable, TopKField, Warnings } from './parts.tsx';
import type { ModelChoice } from './settings.tsx';

interface Props {
  apiKey: string;
  model: ModelChoice;
  models: ModelInfo[];
  active: boolean;
  onShowRecord: (id: string) => void;
}

/** Brings the answer on screen (on a phone it lands below the fold), unless it already is. */
function reveal(el: HTMLElement | null): void {
  if (!el) return;
  const box = el.getBoundingClientRect();
  if (box.top < 0 || box.bottom > innerHeight) el.scrollIntoView({ block: 'start' });
}

/** One image: drop, pick, paste or take it; see its preview, top-k labels and the timings. */
export function Classify({ apiKey, model, models, active, onShowRecord }: Props) {
  const [topK, setTopK] = useState(5);
  const [preview, setPreview] = useState<{ url: string; name: string }>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Prediction>();
  const [error, setError] = useState<unknown>();
  const answer = useRef<HTMLDivElement>(null);
  useEffect(() => setError(undefined), [apiKey]); // a new key: the old refusal no longer applies
  useEffect(() => {
    if (result || error) reveal(answer.current);
  }, [result, error]);

  const classify = async (file: File) => {
    setPreview((old) => {
      if (old?.url) URL.revokeObjectURL(old.url);
      // Only an image gets a preview: a PDF (refused) would show as a broken picture.
      const url = file.type.startsWith('image/') ? URL.createObjectURL(file) : '';
      return { url, name: file.name || 'pasted image' };
    });
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    try {
      const path = withQuery('/predict', { top_k: topK, model: model.name, version: model.version });
      setResult(await api<Prediction>(apiKey, path, { method: 'POST', body: uploadForm([file]) }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  // Paste from the clipboard anywhere on the page while this tab is shown.
  useEffect(() => {
    if (!active) return;
    const onPaste = (e: ClipboardEvent) => {
      const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (file) {
        e.preventDefault();
        void classify(file);
      }
    };
    document.addEventListener('paste', onPaste);
    return () => document.removeEventListener('paste', onPaste);
  });

  return (
    <section aria-labelledby="classify-title">
      <h2 id="classify-title">Classify an image</h2>
      <ModelCard apiKey={apiKey} models={models} choice={model} onTry={(file) => void classify(file)} />
      <div class="row">
        <TopKField id="top-k" label="Labels to show" value={topK} onChange={setTopK} />
      </div>
      <DropZone id="classify-file" camera onFiles={(files) => void classify(files[0]!)}>
        <p>Drop an image here, paste one (Ctrl+V / ⌘V), or</p>
      </DropZone>
      <div class="result" ref={answer} aria-live="polite" aria-busy={busy}>
        {preview && (
          <figure class="preview">
            {preview.url && (
              <img
                src={preview.url}
                alt={`Preview of ${preview.name}`}
                // An image/* file the browser cannot draw (corrupt, HEIC…): its name only, no broken picture.
                onError={() => setPreview((p) => (p?.url === preview.url ? { ...p, url: '' } : p))}
              />
            )}
            <figcaption>{preview.name}</figcaption>
          </figure>
        )}
        {busy && <p>Classifying…</p>}
        <ErrorBox error={error} hasKey={apiKey !== ''} />
        {result && (
          <div class="answer">
            <h3>
              {result.model.name} v{result.model.version}
            </h3>
            <Warnings items={result.warnings ?? []} />
            <Labels items={result.predictions} />
            <p class="meta">
              {result.image.format.toUpperCase()} {result.image.width}×{result.image.height} ·{' '}
              <button type="button" class="link" onClick={() => onShowRecord(result.id)}>
                view in history
              </button>
            </p>
            <TimingTable timings={result.timings_ms} />
          </div>
        )}
      </div>
    </section>
  );
}
