import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceConfigs } from './entry.ts';
import { PullError } from './errors.ts';
import { hfSource } from './hf.ts';
import { localSource } from './local.ts';
import type { ProgressSink } from '../../terminal/index.ts';
import { urlSource } from './url.ts';

export interface FetchContext {
  /** Where model.onnx goes (inside the staging directory). */
  readonly dest: string;
  readonly maxBytes: number;
  readonly hfEndpoint: string;
  readonly hfToken: string;
  readonly progress?: ProgressSink | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface Fetched {
  readonly bytes: number;
  readonly sha256: string;
  /** A SHA-256 the source vouches for itself (the Hub's ETag of an LFS file). */
  readonly sourceSha256?: string | undefined;
  /** Where the bytes came from, pinned (the Hub URL at the commit). */
  readonly resolved: string;
  readonly revision?: string | undefined;
  readonly configs: SourceConfigs;
  /** Other files of the entry (per-provider variants), copied next to model.onnx. */
  readonly extraFiles?: ReadonlyArray<{ readonly name: string; readonly from: string }>;
}

export interface Source {
  /** As the user wrote it, fragment included: what "already pulled from the same source" compares. */
  readonly spec: string;
  /** Without the fragment, for messages. */
  readonly display: string;
  readonly defaultName: string;
  readonly sha256?: string | undefined;
  readonly preset?: string | undefined;
  fetch(ctx: FetchContext): Promise<Fetched>;
}

export type SourceCore = Omit<Source, 'spec' | 'sha256' | 'preset'>;

/**
 * Parses a pull source: https://… or http://… (an ONNX file), hf://org/repo[@rev]/path (a
 * file on the Hugging Face Hub), file://… or a local path (a file, a Loupe store entry, an
 * exported directory). A fragment may carry `sha256=<hex>` and `preset=<name>`.
 */
export function parseSource(spec: string, cwd = process.cwd()): Source {
  const trimmed = spec.trim();
  const hash = trimmed.indexOf('#');
  const display = hash < 0 ? trimmed : trimmed.slice(0, hash);
  const params = new URLSearchParams(hash < 0 ? '' : trimmed.slice(hash + 1));
  for (const key of params.keys())
    if (key !== 'sha256' && key !== 'preset')
      throw new PullError(`${display}: unknown "#${key}=" (a source may end with #sha256=<hex>&preset=<name>)`);
  const sha256 = params.get('sha256')?.toLowerCase();
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256))
    throw new PullError(`${display}: sha256 must be 64 hex digits`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(display)?.[1]?.toLowerCase();
  let core: SourceCore;
  if (scheme === 'https' || scheme === 'http') core = urlSource(display);
  else if (scheme === 'hf') core = hfSource(display);
  else if (scheme === 'file') core = localSource(fileURLToPath(display));
  else if (scheme === 'oci')
    throw new PullError(
      'oci:// sources are not supported: there is no well-kept JavaScript client for OCI artifacts (ORAS has none); pull the artifact with `oras pull` and give its directory',
    );
  else if (scheme) throw new PullError(`${display}: unsupported scheme ${scheme}:// (https, http, hf, file or a path)`);
  else if (!display) throw new PullError('no source given');
  else core = localSource(path.resolve(cwd, display));
  return { ...core, spec: trimmed, sha256, preset: params.get('preset') ?? undefined, fetch: core.fetch };
}
