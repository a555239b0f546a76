import { Value } from 'typebox/value';
import { ModelConfigSchema, type ModelConfig } from '../schema.ts';
import type { SessionShape } from '../validate.ts';
import { PullError } from './errors.ts';
import { fromHfPreprocessor, labelsFromHfConfig } from './hf-config.ts';
import { preset } from './presets.ts';

type Json = Record<string, unknown>;
/** A layer of settings: any may be missing. */
type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** What a source brought besides the ONNX file. */
export interface SourceConfigs {
  /** A Loupe model.json (a local store entry). */
  readonly loupe?: Json | undefined;
  readonly loupeLabels?: string[] | undefined;
  readonly hfPreprocessor?: Json | undefined;
  readonly hfConfig?: Json | undefined;
}

/** Preprocessing and labels the user gave on the command line; each wins over preset and source. */
export interface EntryFlags {
  readonly preset?: string | undefined;
  readonly input?: string | undefined;
  readonly output?: string | undefined;
  readonly outputKind?: ModelConfig['output']['kind'] | undefined;
  readonly color?: ModelConfig['input']['color'] | undefined;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly resize?: ModelConfig['input']['resize'] | undefined;
  readonly resizeShorter?: number | undefined;
  readonly mean?: number[] | undefined;
  readonly std?: number[] | undefined;
  readonly labels?: string[] | undefined;
}

export interface BuiltEntry {
  readonly config: ModelConfig;
  readonly labels: string[];
  /** Where the preprocessing and the labels came from, for the report and source.json. */
  readonly preprocessingFrom: string;
  readonly labelsFrom: string;
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/**
 * model.json and labels for a pulled ONNX file. Layers, later winning: the source's own config
 * (a Loupe model.json, else a Hugging Face preprocessor_config.json), then the preset, then
 * flags. What none of them says is read from the graph where it is unambiguous (the input's
 * name when there is one input, its size and channels when fixed); the rest is an error.
 */
export function buildEntry(
  graph: SessionShape,
  configs: SourceConfigs,
  flags: EntryFlags,
  description: string,
): BuiltEntry {
  const from: string[] = [];
  let input: Loose<ModelConfig['input']> = {};
  let output: Loose<ModelConfig['output']> = {};
  let base: Json = {};
  if (configs.loupe) {
    const { input: i, output: o, ...rest } = configs.loupe as { input?: Json; output?: Json };
    input = { ...(i as object) };
    output = { ...(o as object) };
    base = rest;
    from.push("the source's model.json");
  }
  const p = flags.preset ? preset(flags.preset) : undefined;
  let unusable: PullError | undefined;
  if (!configs.loupe && configs.hfPreprocessor) {
    try {
      input = fromHfPreprocessor(configs.hfPreprocessor);
      from.push("the source's preprocessor_config.json");
    } catch (err) {
      unusable = err as PullError; // fatal unless the preset or flags say it all instead
    }
  }
  if (p) {
    input = { ...input, ...p.input };
    output = { ...output, kind: p.outputKind };
    from.push(`preset ${flags.preset}`);
  }
  const given = defined({
    name: flags.input,
    color: flags.color,
    width: flags.width,
    height: flags.height,
    resize: flags.resize,
    resize_shorter: flags.resizeShorter,
    mean: flags.mean,
    std: flags.std,
  });
  if (Object.keys(given).length) from.push('flags');
  if (unusable && !p && !(given.mean && given.std)) throw unusable;
  input = { ...input, ...given };
  output = { ...output, ...defined({ name: flags.output, kind: flags.outputKind }) };

  const graphInput =
    graph.inputs.find((i) => i.name === input.name) ?? (graph.inputs.length === 1 ? graph.inputs[0] : undefined);
  if (!input.name) {
    if (!graphInput)
      throw new PullError(
        `the graph has ${graph.inputs.length} inputs (${graph.inputs.map((i) => i.name).join(', ')}); name one with --input`,
      );
    input.name = graphInput.name;
  }
  const [, c, h, w] = graphInput?.shape ?? [];
  input.height ??= typeof h === 'number' ? h : undefined;
  input.width ??= typeof w === 'number' ? w : undefined;
  input.color ??= c === 3 ? 'rgb' : c === 1 ? 'grayscale' : undefined;
  if (!input.width || !input.height)
    throw new PullError(`the input "${input.name}" has no fixed size and nothing gives one; pass --size or --preset`);
  if (!input.mean || !input.std)
    throw new PullError(
      'nothing says how to normalise the pixels (the source has no model.json or preprocessor_config.json); pass --preset imagenet, or --mean and --std',
    );
  input.resize ??= 'shorter-side-center-crop';
  output.kind ??= 'logits';

  const { name, color, width, height, resize, resize_shorter, mean, std, ...more } = input;
  const config = {
    format: 'onnx',
    ...base,
    description: (base.description as string | undefined) ?? description,
    input: defined({ name, color, width, height, resize, resize_shorter, mean, std, ...more }),
    output: defined({ name: output.name, kind: output.kind }),
  };
  const problem = [...Value.Errors(ModelConfigSchema, config)][0];
  if (problem)
    throw new PullError(`the preprocessing is not valid: model.json ${problem.instancePath || '/'} ${problem.message}`);

  const [labels, labelsFrom] = flags.labels
    ? [flags.labels, 'the --labels file']
    : p
      ? [p.labels(), `preset ${flags.preset}`]
      : configs.loupeLabels
        ? [configs.loupeLabels, "the source's labels.txt"]
        : [configs.hfConfig && labelsFromHfConfig(configs.hfConfig), "the source's config.json (id2label)"];
  if (!labels?.length) throw new PullError('no labels: pass --labels FILE (one per line) or --preset imagenet');
  if (labels.some((l) => l.trim() === '')) throw new PullError(`the labels from ${labelsFrom} have empty lines`);
  return { config: config as ModelConfig, labels, preprocessingFrom: from.join(' + ') || 'the graph', labelsFrom };
}
