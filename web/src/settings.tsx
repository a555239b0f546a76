import { useEffect, useState } from 'preact/hooks';
import { api, type ModelInfo } from './api.ts';

const KEY = 'loupe.apiKey';

/**
 * The API key lives only in this browser: sessionStorage (gone with the tab) unless the person
 * asks to remember it here (localStorage). It is sent only to this origin.
 */
export function useApiKey(): [string, boolean, (key: string, remember: boolean) => void] {
  const [key, setKey] = useState(() => localStorage.getItem(KEY) ?? sessionStorage.getItem(KEY) ?? '');
  const [remember, setRemember] = useState(() => localStorage.getItem(KEY) !== null);
  const save = (next: string, keep: boolean) => {
    localStorage.removeItem(KEY);
    sessionStorage.removeItem(KEY);
    if (next) (keep ? localStorage : sessionStorage).setItem(KEY, next);
    setKey(next);
    setRemember(keep);
  };
  return [key, remember, save];
}

export function KeyField(props: {
  value: string;
  remember: boolean;
  onSave: (key: string, remember: boolean) => void;
}) {
  const [draft, setDraft] = useState(props.value);
  const [keep, setKeep] = useState(props.remember);
  useEffect(() => setDraft(props.value), [props.value]);
  return (
    <form
      class="key"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSave(draft.trim(), keep);
      }}
    >
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autocomplete="off"
        spellcheck={false}
        placeholder="paste your key (lp_…)"
        value={draft}
        onInput={(e) => setDraft(e.currentTarget.value)}
      />
      <label class="inline">
        <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.currentTarget.checked)} /> Remember on this
        device
      </label>
      <button type="submit">Use key</button>
      {props.value && (
        <button type="button" onClick={() => props.onSave('', false)}>
          Forget key
        </button>
      )}
    </form>
  );
}

export interface ModelChoice {
  name: string;
  version: string;
}

/** GET /models, again whenever the key changes. */
export function useModels(key: string): { models: ModelInfo[]; error: unknown } {
  const [state, setState] = useState<{ models: ModelInfo[]; error: unknown }>({ models: [], error: undefined });
  useEffect(() => {
    let live = true;
    api<{ models: ModelInfo[] }>(key, '/models').then(
      (r) => live && setState({ models: r.models, error: undefined }),
      (error: unknown) => live && setState({ models: [], error }),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return state;
}

/** Model and version; '' means the server's default model, or the latest version. */
export function ModelPicker(props: { models: ModelInfo[]; value: ModelChoice; onChange: (m: ModelChoice) => void }) {
  const current = props.models.find((m) => m.name === props.value.name);
  return (
    <fieldset class="model">
      <legend>Model</legend>
      <label for="model-name">Name</label>
      <select
        id="model-name"
        value={props.value.name}
        onChange={(e) => props.onChange({ name: e.currentTarget.value, version: '' })}
      >
        <option value="">Server default</option>
        {props.models.map((m) => (
          <option key={m.name} value={m.name}>
            {m.name} ({m.labels_count} labels)
          </option>
        ))}
      </select>
      <label for="model-version">Version</label>
      <select
        id="model-version"
        value={props.value.version}
        disabled={!current}
        onChange={(e) => props.onChange({ ...props.value, version: e.currentTarget.value })}
      >
        <option value="">Latest</option>
        {current?.versions.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </fieldset>
  );
}
