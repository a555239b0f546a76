import { posix } from 'node:path';
import type { Dispatcher } from 'undici';
import { readSmall, saveStream } from './download.ts';
import { Egress, networkError } from './egress.ts';
import { PullError, decodePart } from './errors.ts';
import { nameFrom } from './names.ts';
import type { FetchContext, Fetched, SourceCore } from './source.ts';

type Json = Record<string, unknown>;
const header = (res: Dispatcher.ResponseData, name: string): string | undefined => {
  const v = res.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * `hf://org/repo[@revision]/path/in/repo.onnx`: a file on the Hugging Face Hub (or the mirror
 * HF_ENDPOINT names), resolved as huggingface_hub does: a HEAD on
 * `<endpoint>/<repo>/resolve/<revision>/<path>` (following only same-origin redirects, the
 * Hub's repo renames) answers the commit (X-Repo-Commit), the ETag (X-Linked-Etag for an LFS
 * file: its SHA-256, checked after download), the size (X-Linked-Size) and, for LFS files,
 * a redirect to the CDN. Everything else — the file itself, then preprocessor_config.json
 * and config.json beside it or at the repo root — is read at that commit, so the three
 * agree. HF_TOKEN goes to the endpoint only, never to the CDN.
 */
export function hfSource(display: string): SourceCore {
  const m = /^hf:\/\/([A-Za-z0-9][\w.-]*)\/([\w.-]+)(?:@([^/]+))?\/(.+)$/.exec(display);
  if (!m || m[4]!.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw new PullError(`${display}: expected hf://<org>/<repo>[@revision]/<path to the .onnx file>`);
  const [, org, repoName, rev, file] = m as unknown as [string, string, string, string | undefined, string];
  const named = `${org}/${repoName}`;
  const revision = rev ? decodePart(rev, display) : 'main';
  return {
    display,
    defaultName: nameFrom(repoName),
    fetch: async (ctx: FetchContext): Promise<Fetched> => {
      let repo = named;
      const endpoint = new URL(ctx.hfEndpoint.replace(/\/+$/, ''));
      const base = endpoint.href.replace(/\/+$/, '');
      const at = (r: string, p: string) =>
        new URL(`${base}/${repo}/resolve/${encodeURIComponent(r)}/${p.split('/').map(encodeURIComponent).join('/')}`);
      const auth = ctx.hfToken ? { origin: endpoint.origin, value: `Bearer ${ctx.hfToken}` } : undefined;
      const egress = await Egress.forOrigin(endpoint);
      try {
        const head = await egress.open(at(revision, file), {
          method: 'HEAD',
          follow: 'same-origin',
          auth,
          signal: ctx.signal,
        });
        const { res } = head;
        // A renamed repository answers from its new name: use that from here on.
        const prefix = endpoint.pathname.replace(/\/+$/, '');
        const moved = head.url.pathname.startsWith(`${prefix}/`)
          ? /^([^/]+\/[^/]+)\/resolve\//.exec(head.url.pathname.slice(prefix.length + 1))?.[1]
          : undefined;
        if (moved) repo = decodePart(moved, display);
        await res.body.dump();
        if (res.statusCode >= 400) throw hubError(display, res);
        const commit = header(res, 'x-repo-commit');
        if (!commit)
          throw new PullError(
            `${display}: ${endpoint.origin} does not answer like the Hugging Face Hub (no X-Repo-Commit)`,
          );
        const etag = (header(res, 'x-linked-etag') ?? header(res, 'etag'))?.replace(/^W\//, '').replace(/"/g, '');
        const size = Number(header(res, 'x-linked-size') ?? header(res, 'content-length') ?? NaN);
        const location = res.statusCode >= 300 ? header(res, 'location') : undefined;
        const target = location ? new URL(location, head.url) : at(commit, file);

        const sidecar = async (name: string): Promise<Json | undefined> => {
          const dir = posix.dirname(file);
          for (const p of [...new Set([posix.join(dir, name), name])].filter((x) => !x.startsWith('..'))) {
            const { res: r } = await egress.open(at(commit, p), { auth, signal: ctx.signal });
            const text = await readSmall(r, `${display}: ${p}`);
            if (text === undefined) continue;
            try {
              return JSON.parse(text.toString('utf8')) as Json;
            } catch {
              throw new PullError(`${display}: ${p} is not valid JSON`);
            }
          }
          return undefined;
        };
        // Before the model's bytes: a config Loupe cannot follow should fail fast.
        const configs = {
          hfPreprocessor: await sidecar('preprocessor_config.json'),
          hfConfig: await sidecar('config.json'),
        };

        const got = await egress.open(target, { auth, signal: ctx.signal });
        if (got.res.statusCode !== 200) {
          await got.res.body.dump();
          throw new PullError(`${display}: ${got.url.origin} answered ${got.res.statusCode} for the file`);
        }
        const saved = await saveStream(got.res.body, ctx.dest, {
          maxBytes: ctx.maxBytes,
          expected: Number.isFinite(size) ? size : undefined,
          label: posix.basename(file),
          progress: ctx.progress,
          signal: ctx.signal,
        }).catch((err: unknown) => {
          throw err instanceof PullError || ctx.signal?.aborted ? err : networkError(got.url, err);
        });

        return {
          ...saved,
          sourceSha256: etag && /^[0-9a-f]{64}$/.test(etag) ? etag : undefined,
          resolved: at(commit, file).href,
          revision: commit,
          configs,
        };
      } finally {
        await egress.close();
      }
    },
  };
}

/** The Hub's refusal as one line, using its X-Error-Code where it sent one. */
function hubError(display: string, res: Dispatcher.ResponseData): PullError {
  const code = header(res, 'x-error-code');
  const why =
    code === 'RepoNotFound'
      ? 'no such repository (or it is private: set HF_TOKEN)'
      : code === 'RevisionNotFound'
        ? 'no such revision'
        : code === 'EntryNotFound'
          ? 'no such file in the repository'
          : code === 'GatedRepo' || res.statusCode === 401 || res.statusCode === 403
            ? 'access refused (a gated or private repository: set HF_TOKEN)'
            : res.statusCode === 404
              ? 'not found'
              : `the Hub answered ${res.statusCode}`;
  return new PullError(`${display}: ${why} (${res.statusCode})`);
}
