import { useEffect, useState } from 'preact/hooks';
import { fetchFile, type ModelInfo } from './api.ts';
import type { ModelChoice } from './settings.tsx';

interface Props {
  apiKey: string;
  models: ModelInfo[];
  choice: ModelChoice;
  onTry: (file: File) => void;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** What a sample shows: the label its file is named after ("t-shirt-top.png" → "T-shirt/top"), else its name. */
function sampleName(file: string, labels: readonly string[]): string {
  const base = file.replace(/\.[a-z]+$/i, '');
  return labels.find((l) => slug(l) === base) ?? base.replace(/[-_]+/g, ' ');
}

/** On a phone the card starts folded: its samples stay in view, the drop zone near. */
const wide = () => typeof matchMedia !== 'function' || matchMedia('(min-width: 700px)').matches;

const LABELS_SHOWN = 20;

/**
 * What the chosen model is before anyone trusts its answer: what it was trained on, how
 * accurate it measured, its labels, and images of its own domain to try with one click. With
 * only the bundled demo model served, also how to get one for photos.
 */
export function ModelCard({ apiKey, models, choice, onTry }: Props) {
  const m = choice.name ? models.find((x) => x.name === choice.name) : models.find((x) => x.default);
  const samples = useSamples(apiKey, m);
  if (!m) return null;
  const { card, preprocessing: input } = m;
  const more = m.labels.length - LABELS_SHOWN;
  return (
    <section class="card" aria-labelledby="card-title">
      <details open={wide()}>
        <summary>
          <h3 id="card-title">
            About {m.name} v{m.version}
            {card?.accuracy && `: ${(card.accuracy.top1 * 100).toFixed(2)} % test accuracy`}
          </h3>
        </summary>
        {m.description && <p>{m.description}</p>}
        <dl>
          <div>
            <dt>Trained on</dt>
            <dd>{card?.trained_on ?? `${input.color} ${input.width}×${input.height} images`}</dd>
          </div>
          {card?.accuracy && (
            <div>
              <dt>Test accuracy</dt>
              <dd>
                {(card.accuracy.top1 * 100).toFixed(2)} %
                {card.accuracy.test_images !== undefined &&
                  ` on ${card.accuracy.test_images.toLocaleString('en')} held-out ${card.accuracy.dataset ?? ''} test images`}
              </dd>
            </div>
          )}
          <div>
            <dt>Labels ({m.labels.length})</dt>
            <dd>
              {m.labels.slice(0, LABELS_SHOWN).join(', ')}
              {more > 0 && ` … and ${more} more`}
            </dd>
          </div>
        </dl>
        {card?.intended_use && <p class="meta">{card.intended_use}</p>}
      </details>
      {samples.length > 0 && (
        <div class="samples" role="group" aria-label="Sample images">
          <span>Try one of its own images:</span>
          {samples.map(({ file, url }) => (
            <button key={file.name} type="button" class="sample" onClick={() => onTry(file)}>
              <img src={url} alt="" width={48} height={48} />
              {sampleName(file.name, m.labels)}
            </button>
          ))}
        </div>
      )}
      {models.length === 1 && (
        <p class="hint">
          This server serves only <strong>{m.name}</strong>. For photos, pull an ImageNet classifier into the model
          store; it is served within seconds:{' '}
          <code>npm run loupe -- models pull hf://Xenova/resnet-50/onnx/model.onnx</code> (or any ImageNet ONNX file by
          URL with <code>--preset imagenet</code>; README, “Use a pre-trained model”).
        </p>
      )}
    </section>
  );
}

/** The card's samples, fetched with the key (an <img src> could not send it) as Files with object URLs. */
function useSamples(apiKey: string, m: ModelInfo | undefined): Array<{ file: File; url: string }> {
  const [samples, setSamples] = useState<Array<{ file: File; url: string }>>([]);
  const list = m?.card?.samples ?? [];
  const key = list.map((s) => s.url).join(' ');
  useEffect(() => {
    let live = true;
    let made: string[] = [];
    Promise.all(list.map((s) => fetchFile(apiKey, s.url, s.name))).then(
      (files) => {
        made = files.map((f) => URL.createObjectURL(f));
        if (live) setSamples(files.map((file, i) => ({ file, url: made[i]! })));
        else made.forEach((u) => URL.revokeObjectURL(u));
      },
      () => live && setSamples([]), // no samples is no card error: the card still says what the model is
    );
    return () => {
      live = false;
      made.forEach((u) => URL.revokeObjectURL(u));
    };
    // `key` stands for `list`: a new array each render, the same samples
  }, [apiKey, key]);
  return samples;
}
