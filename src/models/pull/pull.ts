import { copyFileSync, openSync, readSync, closeSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createSession, validateModels } from '../../inference/local/index.ts';
import type { SessionShape } from '../validate.ts';
import { buildEntry, type EntryFlags } from './entry.ts';
import { PullError } from './errors.ts';
import { parseSource, type FetchContext, type Source } from './source.ts';
import { VERSION_RULE, isVersion } from '../version.ts';
import { Staging, nextVersion, versionsOf } from './staging.ts';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The entry's flags, where it goes, and how to fetch it (a source's context, less its destination). */
export interface PullOptions extends Omit<EntryFlags, 'preset'>, Omit<FetchContext, 'dest'> {
  readonly store: string;
  readonly name?: string | undefined;
  readonly version?: number | undefined;
  readonly sha256?: string | undefined;
  readonly preset?: string | undefined;
}

export interface PullResult {
  readonly name: string;
  readonly version: number;
  readonly dir: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly preprocessingFrom: string;
  readonly labelsFrom: string;
  /** The `models validate` line of the new version. */
  readonly check: string;
}

/**
 * `loupe models pull`: fetches an ONNX model into a staging directory inside the store,
 * writes model.json, labels.txt and source.json beside it, checks the checksum and then the
 * entry with the checks of `loupe models validate`, and only then renames it into place.
 * Any failure or interruption (the signal) removes the staging directory: nothing is left.
 */
export async function pullModel(spec: string | Source, opts: PullOptions): Promise<PullResult> {
  const source = typeof spec === 'string' ? parseSource(spec) : spec;
  const name = opts.name ?? source.defaultName;
  if (!NAME_RE.test(name)) throw new PullError(`model name "${name}": use letters, digits, ".", "_" and "-"`);
  const v = opts.version;
  if (v !== undefined && !isVersion(v)) throw new PullError(`version ${v}: ${VERSION_RULE}`);
  if (opts.version !== undefined && versionsOf(opts.store, name).includes(opts.version))
    throw new PullError(`${name}/${opts.version} already exists in the store; a served version is never replaced`);
  const want = [opts.sha256?.toLowerCase(), source.sha256].filter((s): s is string => !!s);
  if (new Set(want).size > 1) throw new PullError("--sha256 and the source's #sha256= differ");
  const staging = new Staging(opts.store);
  try {
    const download = path.join(staging.dir, 'model.onnx');
    const got = await source.fetch({ ...opts, dest: download });
    for (const expected of [...want, got.sourceSha256].filter((s): s is string => !!s))
      if (got.sha256 !== expected)
        throw new PullError(`${source.display}: checksum mismatch: expected sha256 ${expected}, got ${got.sha256}`);
    sniff(download, source.display);
    const graph = await inspect(download, source.display);
    opts.signal?.throwIfAborted();

    const description = `${name} pulled from ${source.display}${got.revision ? ` at ${got.revision.slice(0, 12)}` : ''} (sha256 ${got.sha256.slice(0, 12)})`;
    const built = buildEntry(graph, got.configs, { ...opts, preset: opts.preset ?? source.preset }, description);
    const version = opts.version ?? nextVersion(Math.max(0, ...versionsOf(opts.store, name)));
    const dir = staging.entryDir(name, version);
    renameSync(download, path.join(dir, 'model.onnx'));
    for (const x of got.extraFiles ?? []) copyFileSync(x.from, path.join(dir, x.name));
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(built.config, null, 2) + '\n');
    writeFileSync(path.join(dir, 'labels.txt'), built.labels.join('\n') + '\n');
    const provenance = {
      source: source.spec,
      resolved: got.resolved,
      ...(got.revision ? { revision: got.revision } : {}),
      sha256: got.sha256,
      bytes: got.bytes,
      preprocessing_from: built.preprocessingFrom,
      labels_from: built.labelsFrom,
      pulled_at: new Date().toISOString(),
    };
    writeFileSync(path.join(dir, 'source.json'), JSON.stringify(provenance, null, 2) + '\n');

    const report = await validateModels(dir);
    if (!report.ok) {
      const problems = report.lines.filter((l) => /^\s+- |^✗/.test(l)).map((l) => l.replace(/^\s*(- |✗ )/, ''));
      throw new PullError(`the model does not match its preprocessing or labels: ${problems.join('; ')}`);
    }
    opts.signal?.throwIfAborted();
    const published = staging.publish(name, version, opts.version !== undefined);
    const check = report.lines[0]!.replace(`${name}/${version}:`, `${name}/${published}:`);
    return {
      name,
      version: published,
      dir: path.join(opts.store, name, String(published)),
      bytes: got.bytes,
      sha256: got.sha256,
      preprocessingFrom: built.preprocessingFrom,
      labelsFrom: built.labelsFrom,
      check,
    };
  } finally {
    staging.discard();
  }
}

/** What people download by mistake instead of a model: an HTML page, a JSON error, a Git LFS pointer. */
function sniff(file: string, display: string): void {
  const fd = openSync(file, 'r');
  const head = Buffer.alloc(64);
  const n = readSync(fd, head, 0, 64, 0);
  closeSync(fd);
  const text = head.subarray(0, n).toString('latin1').trimStart();
  const looks = text.startsWith('version https://git-lfs')
    ? 'a Git LFS pointer, not the file it points to'
    : /^<(!doctype|html|\?xml)/i.test(text)
      ? 'an HTML/XML page'
      : text.startsWith('{') || text.startsWith('[')
        ? 'JSON'
        : text.startsWith('PK')
          ? 'a zip archive'
          : n === 0
            ? 'empty'
            : undefined;
  if (looks) throw new PullError(`${display} is not an ONNX model (it is ${looks})`);
}

/** Loads the graph once on the CPU for its inputs and outputs; a file ONNX Runtime refuses is not a model. */
async function inspect(file: string, display: string): Promise<SessionShape> {
  try {
    const s = await createSession(file, { intraOpThreads: 1, interOpThreads: 1, executionProviders: ['cpu'] });
    await s.session.release();
    return { inputs: s.inputs, outputs: s.outputs };
  } catch (err) {
    const why = (err as Error).message.replace(/^no execution provider could load \S+ \(cpu: /, '').replace(/\)$/, '');
    throw new PullError(`${display} is not an ONNX model ONNX Runtime can load: ${why.split('\n')[0]}`);
  }
}
