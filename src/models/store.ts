import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Value } from 'typebox/value';
import { ErrorCode, LoupeError } from '../errors.ts';
import { readCard, sampleDir, sampleType, type ModelCard } from './card.ts';
import { isInside } from './paths.ts';
import { ModelConfigSchema, type ModelConfig } from './schema.ts';
import { VERSION_RULE, isOutOfRangeVersion, parseVersion } from './version.ts';

/** One servable version found in the store, with everything needed to load it. */
export interface ModelEntry {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly onnxPath: string;
  readonly config: ModelConfig;
  readonly labels: readonly string[];
  readonly card: ModelCard;
  /** Where `card.samples` are (undefined: none). */
  readonly samplesDir: string | undefined;
}

export interface StoreProblem {
  readonly name: string;
  readonly version?: string | undefined;
  readonly path: string;
  readonly error: string;
}

export interface StoreScan {
  readonly entries: ModelEntry[];
  readonly problems: StoreProblem[];
}

/** The longest model name the store takes; every API refuses a longer one alike (inference/classification.ts). */
export const MAX_NAME_LENGTH = 128;
const NAME_RE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_NAME_LENGTH - 1}}$`);

/**
 * Reads the store layout `<name>/model.json`, `<name>/labels.txt`, `<name>/<version>/model.onnx`
 * (a version directory may carry its own model.json / labels.txt that override the model's).
 * With `singleModel` (LOUPE_MODEL_NAME) the root is one model's directory served under that
 * name, as KServe's storage initializer lays out /mnt/models: `model.json`, `labels.txt` and
 * `<version>/model.onnx`, or a bare `model.onnx` next to them (version 1).
 * Broken entries become problems, never exceptions: one bad model must not take the rest down.
 */
export function scanStore(root: string, singleModel = ''): StoreScan {
  const entries: ModelEntry[] = [];
  const problems: StoreProblem[] = [];
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    problems.push({ name: singleModel || '*', path: root, error: `model store ${root} is not a directory` });
    return { entries, problems };
  }
  if (singleModel) {
    if (!NAME_RE.test(singleModel)) {
      problems.push({
        name: singleModel,
        path: root,
        error: 'LOUPE_MODEL_NAME may use letters, digits, ".", "_" and "-" only',
      });
    } else if (existsSync(path.join(root, 'model.onnx'))) {
      const result = readEntry(root, singleModel, '1', root);
      if ('error' in result) problems.push(result);
      else entries.push(result);
    } else scanModel(root, singleModel, entries, problems);
    return { entries, problems };
  }
  for (const name of readdirSync(root).sort()) {
    const dir = path.join(root, name);
    if (name.startsWith('.') || !statSync(dir).isDirectory()) continue;
    if (!NAME_RE.test(name)) {
      problems.push({ name, path: dir, error: 'model names may use letters, digits, ".", "_" and "-" only' });
      continue;
    }
    scanModel(dir, name, entries, problems);
  }
  return { entries, problems };
}

/** Every numeric version directory of one model's directory, ascending; out-of-range ones are problems. */
function scanModel(dir: string, name: string, entries: ModelEntry[], problems: StoreProblem[]): void {
  const numeric = readdirSync(dir).filter((v) => /^\d+$/.test(v) && statSync(path.join(dir, v)).isDirectory());
  for (const v of numeric.filter((v) => isOutOfRangeVersion(v) && Number(v) !== 0))
    problems.push({ name, version: v, path: path.join(dir, v), error: `not served: ${VERSION_RULE}` });
  const versions = numeric.filter((v) => parseVersion(v) !== undefined);
  if (versions.length === 0) {
    problems.push({ name, path: dir, error: 'no numeric version directory (<name>/1/model.onnx)' });
    return;
  }
  for (const version of versions.sort((a, b) => parseVersion(a)! - parseVersion(b)!)) {
    const result = readEntry(dir, name, String(parseVersion(version)), path.join(dir, version));
    if ('error' in result) problems.push(result);
    else entries.push(result);
  }
}

/** One version: `vdir` holds model.onnx; model.json / labels.txt in `vdir` win over `modelDir`'s. */
export function readEntry(modelDir: string, name: string, version: string, vdir: string): ModelEntry | StoreProblem {
  const problem = (error: string, p = vdir): StoreProblem => ({ name, version, path: p, error });
  const onnxPath = path.join(vdir, 'model.onnx');
  if (!existsSync(onnxPath)) return problem('model.onnx is missing', onnxPath);
  const configPath = [path.join(vdir, 'model.json'), path.join(modelDir, 'model.json')].find((p) => existsSync(p));
  if (!configPath) return problem('model.json is missing', path.join(modelDir, 'model.json'));
  const labelsPath = [path.join(vdir, 'labels.txt'), path.join(modelDir, 'labels.txt')].find((p) => existsSync(p));
  if (!labelsPath) return problem('labels.txt is missing', path.join(modelDir, 'labels.txt'));
  const outside = [onnxPath, configPath, labelsPath].find((p) => !isInside(p, modelDir));
  if (outside) return problem('is a symbolic link to a file outside its model directory: not served', outside);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    return problem(`model.json is not valid JSON: ${(err as Error).message}`, configPath);
  }
  const first = [...Value.Errors(ModelConfigSchema, raw)][0];
  if (first) return problem(`model.json ${first.instancePath || '/'} ${first.message}`, configPath);
  const config = raw as ModelConfig;
  const channels = config.input.color === 'rgb' ? 3 : 1;
  if (config.input.mean.length !== channels || config.input.std.length !== channels) {
    return problem(
      `model.json input.mean and input.std need ${channels} value(s) for color "${config.input.color}"`,
      configPath,
    );
  }
  const labels = readFileSync(labelsPath, 'utf8')
    .replace(/\r?\n$/, '')
    .split(/\r?\n/);
  if (labels.length === 0 || labels.some((l) => l.trim() === ''))
    return problem('labels.txt has empty lines', labelsPath);
  const samplesDir = sampleDir(modelDir, vdir);
  const card = readCard(config, modelDir, vdir, samplesDir);
  return { name, version, dir: vdir, onnxPath, config, labels, card, samplesDir };
}

/** One of a version's sample images; only a name its card lists, never a path from a request. */
export async function readSample(entry: ModelEntry, file: string): Promise<{ bytes: Buffer; contentType: string }> {
  if (!entry.samplesDir || !entry.card.samples.includes(file))
    throw new LoupeError(ErrorCode.NotFound, `model "${entry.name}" has no sample image "${file}"`);
  return { bytes: await readFile(path.join(entry.samplesDir, file)), contentType: sampleType(file) };
}
