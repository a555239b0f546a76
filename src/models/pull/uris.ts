import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors.ts';
import { formatBytes, PullError } from './errors.ts';
import { pullModel, type PullOptions, type PullResult } from './pull.ts';
import { parseSource, type Source } from './source.ts';
import { VERSION_RULE, parseVersion } from '../version.ts';
import { versionsOf } from './staging.ts';

export interface ModelUri {
  readonly name: string;
  readonly version?: number | undefined;
  readonly source: Source;
}

/**
 * LOUPE_MODEL_URIS: `name[@version]=<source>` entries (or a bare source, named after it)
 * separated by commas or white space — a comma inside a URL is written %2C.
 */
export function parseModelUris(text: string): ModelUri[] {
  return text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((item) => {
      const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(\d+))?=(.+)$/.exec(item);
      const source = parseSource(m ? m[3]! : item);
      const version = m?.[2] !== undefined ? parseVersion(m[2]) : undefined;
      if (m?.[2] !== undefined && version === undefined) throw new PullError(`${item}: ${VERSION_RULE}`);
      return { name: m?.[1] ?? source.defaultName, version, source };
    });
}

/** LOUPE_MODEL_URIS as configured; a bad entry is a configuration error (one line, exit 1). */
export function modelUrisFromConfig(text: string): ModelUri[] {
  try {
    return parseModelUris(text);
  } catch (err) {
    throw new ConfigError(`invalid configuration: LOUPE_MODEL_URIS: ${(err as Error).message}`);
  }
}

export type UriOutcome =
  | { readonly uri: ModelUri; readonly status: 'present'; readonly version: number }
  | { readonly uri: ModelUri; readonly status: 'pulled'; readonly result: PullResult }
  | { readonly uri: ModelUri; readonly status: 'failed'; readonly error: string };

/**
 * The version already in the store for this entry: the version it names, if that exists;
 * else the newest version whose source.json records the same source (as written, checksum
 * and preset included). Undefined when it must be pulled.
 */
export function presentVersion(store: string, uri: ModelUri): number | undefined {
  const versions = versionsOf(store, uri.name);
  if (uri.version !== undefined) return versions.includes(uri.version) ? uri.version : undefined;
  for (const v of versions.reverse()) {
    const file = path.join(store, uri.name, String(v), 'source.json');
    if (!existsSync(file)) continue;
    try {
      if ((JSON.parse(readFileSync(file, 'utf8')) as { source?: string }).source === uri.source.spec) return v;
    } catch {
      /* not one of ours */
    }
  }
  return undefined;
}

/**
 * Pulls every entry that is not in the store yet, one after another (as KServe's storage
 * initializer does at a pod's start). A failure does not stop the others; the outcomes say
 * what happened to each.
 */
export async function pullAll(
  uris: readonly ModelUri[],
  opts: Omit<PullOptions, 'name' | 'version' | 'sha256' | 'preset'>,
  onOutcome: (o: UriOutcome) => void = () => undefined,
): Promise<UriOutcome[]> {
  const out: UriOutcome[] = [];
  for (const uri of uris) {
    opts.signal?.throwIfAborted();
    const have = presentVersion(opts.store, uri);
    let o: UriOutcome;
    if (have !== undefined) o = { uri, status: 'present', version: have };
    else {
      try {
        o = {
          uri,
          status: 'pulled',
          result: await pullModel(uri.source, { ...opts, name: uri.name, version: uri.version }),
        };
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        // Another replica may have published the same source meanwhile.
        const now = presentVersion(opts.store, uri);
        o =
          now !== undefined
            ? { uri, status: 'present', version: now }
            : { uri, status: 'failed', error: (err as Error).message };
      }
    }
    onOutcome(o);
    out.push(o);
  }
  return out;
}

/** One line per entry, for the CLI and the start-up log. */
export function describeOutcome(o: UriOutcome): string {
  const from = `from ${o.uri.source.display}`;
  if (o.status === 'present') return `= ${o.uri.name}/${o.version} is in the store already (${from}): not pulled again`;
  if (o.status === 'pulled')
    return `✓ ${o.uri.name}/${o.result.version} pulled ${from} (${formatBytes(o.result.bytes)}, sha256 ${o.result.sha256.slice(0, 12)}…)`;
  return `✗ ${o.uri.name}: ${o.error}`;
}
