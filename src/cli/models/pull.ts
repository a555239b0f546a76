import { floats, int, oneOf, readLabels, UsageError } from '../flags.ts';
import { parseFlags } from '../parse-flags.ts';
import { abortOnSignal } from '../signals.ts';
import { loadConfig, type Config } from '../../config/index.ts';
import { validateModels } from '../../inference/local/index.ts';
import {
  formatBytes,
  modelUrisFromConfig,
  progressRenderer,
  pullAll,
  pullModel,
  type PullOptions,
  describeOutcome,
} from '../../models/pull/index.ts';

const STRING_FLAGS = [
  'name',
  'version',
  'store',
  'sha256',
  'preset',
  'labels',
  'input',
  'output',
  'output-kind',
  'size',
  'width',
  'height',
  'color',
  'resize',
  'resize-shorter',
  'mean',
  'std',
  'max-bytes',
] as const;

/** `loupe models pull <source> …`: 0 pulled, 1 failed, 130 interrupted; usage problems throw UsageError. */
export async function pull(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: 'string' }])) as Record<
      (typeof STRING_FLAGS)[number],
      { type: 'string' }
    >,
  );
  if (positionals.length !== 1) throw new UsageError('give one source');
  const config = loadConfig();
  const size = int('size', values.size);
  if (values.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(values.sha256))
    throw new UsageError('--sha256 must be 64 hex digits');
  const opts: PullOptions = {
    ...base(config, values.store, values['max-bytes']),
    name: values.name,
    version: int('version', values.version),
    sha256: values.sha256,
    preset: values.preset,
    labels: values.labels === undefined ? undefined : readLabels(values.labels),
    input: values.input,
    output: values.output,
    outputKind: oneOf('output-kind', values['output-kind'], ['logits', 'probabilities'] as const),
    color: oneOf('color', values.color, ['rgb', 'grayscale'] as const),
    width: int('width', values.width) ?? size,
    height: int('height', values.height) ?? size,
    resize: oneOf('resize', values.resize, ['shorter-side-center-crop', 'stretch'] as const),
    resizeShorter: int('resize-shorter', values['resize-shorter']),
    mean: floats('mean', values.mean),
    std: floats('std', values.std),
  };
  return interruptible(async (signal) => {
    const r = await pullModel(positionals[0]!, { ...opts, signal });
    console.log(r.check);
    console.log(
      `pulled ${r.name}/${r.version} into ${r.dir} (${formatBytes(r.bytes)}, sha256 ${r.sha256}); preprocessing from ${r.preprocessingFrom}, labels from ${r.labelsFrom}`,
    );
    return 0;
  });
}

/** `loupe models pull-all`: every LOUPE_MODEL_URIS entry not in the store yet. */
export async function pullAllCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    { store: { type: 'string' }, validate: { type: 'boolean' }, 'max-bytes': { type: 'string' } },
    false,
  );
  const config = loadConfig();
  const opts = base(config, values.store, values['max-bytes']);
  const uris = modelUrisFromConfig(config.LOUPE_MODEL_URIS);
  if (uris.length === 0) console.log('LOUPE_MODEL_URIS is empty: nothing to pull');
  return interruptible(async (signal) => {
    const outcomes = await pullAll(uris, { ...opts, signal }, (x) => console.log(describeOutcome(x)));
    let ok = outcomes.every((x) => x.status !== 'failed');
    if (values.validate) {
      const report = await validateModels(opts.store);
      for (const line of report.lines) console.log(line);
      ok &&= report.ok;
    }
    return ok ? 0 : 1;
  });
}

function base(config: Config, store: string | undefined, maxBytes: string | undefined) {
  const tty = process.stderr.isTTY === true;
  return {
    store: store ?? config.LOUPE_MODEL_STORE,
    maxBytes: int('max-bytes', maxBytes) ?? config.LOUPE_MODEL_PULL_MAX_BYTES,
    hfEndpoint: config.HF_ENDPOINT,
    hfToken: config.HF_TOKEN,
    progress: progressRenderer({ tty, write: (s) => process.stderr.write(s) }),
  };
}

/**
 * Runs a pull with Ctrl-C (and SIGTERM) wired to its abort signal: the pull removes what it
 * staged and the command exits 130. A second signal exits at once.
 */
async function interruptible(work: (signal: AbortSignal) => Promise<number>): Promise<number> {
  const stop = abortOnSignal();
  try {
    return await work(stop.signal);
  } catch (err) {
    if (stop.signal.aborted) {
      console.error('loupe models: interrupted; nothing was written to the store');
      return 130;
    }
    console.error(`loupe models: ${(err as Error).message.split('\n')[0]}`);
    return 1;
  } finally {
    stop.dispose();
  }
}
