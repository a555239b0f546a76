import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Batch } from './batch.tsx';
import { Classify } from './classify.tsx';
import { History } from './history.tsx';
import { ErrorBox, KeyBannerShown, isKeyRefusal } from './parts.tsx';
import { KeyField, ModelPicker, useApiKey, useModels, type ModelChoice } from './settings.tsx';
import './style.css';

type Tab = 'classify' | 'batch' | 'history';
const TABS: ReadonlyArray<[Tab, string]> = [
  ['classify', 'Classify'],
  ['batch', 'Batch'],
  ['history', 'History'],
];

/** The address says where the page is: #classify, #batch, #history or #history/<prediction id>. */
function parseHash(): { tab: Tab; record: string } {
  const [tab, record = ''] = location.hash.slice(1).split('/');
  let id = '';
  try {
    id = decodeURIComponent(record);
  } catch {
    // a hand-edited address (#history/%E0): no record rather than a page that does not render
  }
  return { tab: tab === 'batch' || tab === 'history' ? tab : 'classify', record: id };
}

function App() {
  const [key, remember, saveKey] = useApiKey();
  const [where, setWhere] = useState(parseHash);
  const [model, setModel] = useState<ModelChoice>({ name: '', version: '' });
  const { models, error } = useModels(key);
  useEffect(() => {
    const on = () => setWhere(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const go = (tab: Tab, record = '') => {
    location.hash = record ? `${tab}/${encodeURIComponent(record)}` : tab;
  };

  // The key field only where keys matter: the server refused the page without one, or one is set.
  // Once asked, it stays (forgetting a key must not hide the field until the next refusal).
  const keyRefused = isKeyRefusal(error);
  const [keysAsked, setKeysAsked] = useState(false);
  useEffect(() => {
    if (keyRefused || key !== '') setKeysAsked(true);
  }, [keyRefused, key]);
  const askKey = keysAsked || keyRefused || key !== '';

  return (
    <KeyBannerShown.Provider value={keyRefused}>
      <header>
        <h1>Loupe</h1>
        {askKey && <KeyField value={key} remember={remember} onSave={saveKey} />}
      </header>
      <nav aria-label="Sections">
        {TABS.map(([t, name]) => (
          <a key={t} href={`#${t}`} aria-current={where.tab === t ? 'page' : undefined}>
            {name}
          </a>
        ))}
        <a href="/docs">API docs</a>
      </nav>
      <main>
        <ErrorBox error={error} hasKey={key !== ''} banner />
        {where.tab !== 'history' && <ModelPicker models={models} value={model} onChange={setModel} />}
        <div hidden={where.tab !== 'classify'}>
          <Classify
            apiKey={key}
            model={model}
            models={models}
            active={where.tab === 'classify'}
            onShowRecord={(id) => go('history', id)}
          />
        </div>
        <div hidden={where.tab !== 'batch'}>
          <Batch apiKey={key} model={model} />
        </div>
        {where.tab === 'history' && (
          <History apiKey={key} models={models} selected={where.record} onSelect={(id) => go('history', id)} />
        )}
      </main>
    </KeyBannerShown.Provider>
  );
}

render(<App />, document.getElementById('app')!);
