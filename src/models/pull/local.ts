import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SourceConfigs } from './entry.ts';
import { saveStream } from './download.ts';
import { PullError } from './errors.ts';
import { nameFromPath } from './names.ts';
import type { FetchContext, Fetched, SourceCore } from './source.ts';

type Json = Record<string, unknown>;

/**
 * Refuses a symbolic link inside a local source, wherever it points: the store keeps (and
 * GET /models serves) what it copies, and a link would let a source directory pass any file
 * of this machine (`labels.txt -> /etc/passwd`) into it. The path given to pull may itself be
 * a link; it is resolved once, and what lies in it must be regular files and directories.
 */
function noLink(p: string): string {
  if (lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new PullError(`${p} is a symbolic link: a local source must hold regular files (copy the file in instead)`);
  return p;
}

/** The ONNX file of a directory: model.onnx, onnx/model.onnx (an Optimum export), or its only .onnx file. */
function findOnnx(dir: string): string {
  for (const p of ['model.onnx', path.join('onnx', 'model.onnx')])
    if (existsSync(path.join(dir, p))) {
      if (p !== 'model.onnx') noLink(path.join(dir, 'onnx'));
      return path.join(dir, p);
    }
  const onnx = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
  if (onnx.length === 1) return path.join(dir, onnx[0]!);
  throw new PullError(`${dir}: no model.onnx${onnx.length ? ` (and ${onnx.length} other .onnx files: name one)` : ''}`);
}

function readJson(file: string): Json {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Json;
  } catch (err) {
    throw new PullError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * A local file or directory: an ONNX file, a Loupe store entry (a version directory, with
 * model.json / labels.txt there or in the model directory above, as the store reads them), or
 * a Hugging Face style export (preprocessor_config.json, config.json beside the file or
 * above an onnx/ folder). It is copied, never moved or linked: the store owns its copy.
 */
export function localSource(abs: string): SourceCore {
  return {
    display: abs,
    defaultName: nameFromPath(abs),
    fetch: async (ctx: FetchContext): Promise<Fetched> => {
      let isDir: boolean;
      let root: string;
      try {
        root = realpathSync(abs);
        isDir = statSync(root).isDirectory();
      } catch {
        throw new PullError(`${abs}: no such file or directory`);
      }
      const file = noLink(isDir ? findOnnx(root) : root);
      const dir = path.dirname(file);
      const up = /^(\d+|onnx)$/.test(path.basename(dir)) ? [dir, path.dirname(dir)] : [dir];
      const find = (name: string) => {
        const p = up.map((d) => path.join(d, name)).find((f) => lstatSync(f, { throwIfNoEntry: false }));
        return p === undefined ? undefined : noLink(p);
      };
      const loupePath = find('model.json');
      const labelsPath = find('labels.txt');
      const hfPath = find('preprocessor_config.json');
      const hfConfigPath = find('config.json');
      const configs: SourceConfigs = {
        loupe: loupePath ? readJson(loupePath) : undefined,
        loupeLabels: labelsPath
          ? readFileSync(labelsPath, 'utf8')
              .replace(/\r?\n$/, '')
              .split(/\r?\n/)
          : undefined,
        hfPreprocessor: hfPath ? readJson(hfPath) : undefined,
        hfConfig: hfConfigPath ? readJson(hfConfigPath) : undefined,
      };
      const variants = (configs.loupe?.variants ?? {}) as Record<string, string>;
      const extraFiles = [...new Set(Object.values(variants))]
        .filter((v) => typeof v === 'string' && /^[A-Za-z0-9._-]+\.onnx$/.test(v) && v !== 'model.onnx')
        .map((name) => ({ name, from: path.join(dir, name) }));
      for (const x of extraFiles) {
        noLink(x.from);
        if (!existsSync(x.from)) throw new PullError(`${x.from} (a variant in model.json) is missing`);
        // Copied as they are (a local source has no checksum to check), but within the same size limit.
        if (statSync(x.from).size > ctx.maxBytes)
          throw new PullError(`${x.from} (a variant in model.json) is over the ${ctx.maxBytes}-byte limit`);
      }
      const saved = await saveStream(createReadStream(file), ctx.dest, {
        maxBytes: ctx.maxBytes,
        expected: statSync(file).size,
        label: path.basename(file),
        progress: ctx.progress,
        signal: ctx.signal,
      });
      return { ...saved, resolved: pathToFileURL(file).href, configs, extraFiles };
    },
  };
}
