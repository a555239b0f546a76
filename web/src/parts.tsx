import { createContext, type ComponentChildren } from 'preact';
import { useContext, useState } from 'preact/hooks';
import { ApiError, type Label, type Timings, type Warning } from './api.ts';
import { explain } from './messages.ts';

/**
 * True while the page's top banner says a key is needed or was refused: every other refusal
 * for the same reason (401) would repeat it word for word, so they stay silent.
 */
export const KeyBannerShown = createContext(false);

export const isKeyRefusal = (e: unknown) => e instanceof ApiError && e.status === 401;

/** A refused request, announced to screen readers (role=alert). `banner`: the page's top one. */
export function ErrorBox({ error, hasKey, banner = false }: { error: unknown; hasKey: boolean; banner?: boolean }) {
  const keyBanner = useContext(KeyBannerShown);
  if (error === undefined || (!banner && keyBanner && isKeyRefusal(error))) return null;
  const { title, detail } = explain(error, hasKey);
  return (
    <div class="error" role="alert">
      <strong>{title}</strong>
      {detail && <p class="detail">{detail}</p>}
    </div>
  );
}

/** The server's warnings that an image is far from the model's training data, in its words. */
export function Warnings({ items }: { items: readonly Warning[] }) {
  if (items.length === 0) return null;
  return (
    <div class="warning" role="note" aria-label="Warning">
      <strong>These labels may mean little: the image is unlike what this model was trained on.</strong>
      <ul>
        {items.map((w) => (
          <li key={w.code}>{w.message}</li>
        ))}
      </ul>
    </div>
  );
}

export const pct = (score: number) => `${(score * 100).toFixed(score >= 0.995 || score < 0.0005 ? 1 : 2)} %`;

/** Top-k labels with score bars: a <meter> per label, the number beside it. */
export function Labels({ items }: { items: readonly Label[] }) {
  return (
    <ol class="labels">
      {items.map((p) => (
        <li key={p.index}>
          <span class="label">{p.label}</span>
          <meter min={0} max={1} value={p.score} aria-label={`${p.label} score`} />
          <span class="score">{pct(p.score)}</span>
        </li>
      ))}
    </ol>
  );
}

/** How many labels to ask for: a whole number from 1 (what the API's top_k takes). */
export function TopKField(props: { id: string; label: string; value: number; onChange: (k: number) => void }) {
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        min={1}
        max={1000}
        value={props.value}
        onInput={(e) => props.onChange(Math.max(1, Math.trunc(Number(e.currentTarget.value)) || 1))}
      />
    </>
  );
}

const TIMING_NAMES: ReadonlyArray<[keyof Timings, string]> = [
  ['decode', 'Decode and resize'],
  ['preprocess', 'Preprocess'],
  ['queue', 'Queue (batching)'],
  ['inference', 'Inference'],
  ['total', 'Total on the server'],
];

export function TimingTable({ timings }: { timings: Timings }) {
  return (
    <table class="timings">
      <caption>Timing (ms)</caption>
      <tbody>
        {TIMING_NAMES.map(([k, name]) => (
          <tr key={k}>
            <th scope="row">{name}</th>
            <td>{timings[k].toFixed(2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Files by drag-and-drop or a picker (and, where the device has one, the camera through
 * `<input capture>`). The picker is a real labelled <input>, so keyboards and screen readers use it.
 */
export function DropZone(props: {
  id: string;
  multiple?: boolean;
  camera?: boolean;
  onFiles: (files: File[]) => void;
  children?: ComponentChildren;
}) {
  const [over, setOver] = useState(false);
  const take = (list: FileList | null | undefined) => {
    const files = [...(list ?? [])];
    if (files.length) props.onFiles(files);
  };
  const coarse = typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches;
  return (
    <div
      class={over ? 'drop over' : 'drop'}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        take(e.dataTransfer?.files);
      }}
    >
      {props.children}
      <div class="pickers">
        <input
          id={props.id}
          class="visually-hidden"
          type="file"
          accept="image/*"
          multiple={props.multiple ?? false}
          onChange={(e) => {
            take(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
        <label class="button" for={props.id}>
          {props.multiple ? 'Choose images' : 'Choose an image'}
        </label>
        {props.camera && coarse && (
          <>
            <input
              id={`${props.id}-camera`}
              class="visually-hidden"
              type="file"
              accept="image/*"
              capture="environment"
              onChange={(e) => take(e.currentTarget.files)}
            />
            <label class="button" for={`${props.id}-camera`}>
              Take a photo
            </label>
          </>
        )}
      </div>
    </div>
  );
}
