import { contentLength, saveStream, statusError } from './download.ts';
import { Egress, networkError } from './egress.ts';
import { PullError, decodePart } from './errors.ts';
import { nameFromPath } from './names.ts';
import type { FetchContext, Fetched, SourceCore } from './source.ts';

/**
 * An ONNX file at an http(s) URL. Nothing else is fetched from that server: the
 * preprocessing and labels come from a preset, flags or a labels file.
 */
export function urlSource(display: string): SourceCore {
  let url: URL;
  try {
    url = new URL(display);
  } catch {
    throw new PullError(`${display} is not a valid URL`);
  }
  if (url.username || url.password) throw new PullError(`${url.origin}: credentials in the URL are not allowed`);
  return {
    display,
    defaultName: nameFromPath(decodePart(url.pathname, display)),
    fetch: async (ctx: FetchContext): Promise<Fetched> => {
      const egress = await Egress.forOrigin(url);
      try {
        const { res, url: final } = await egress.open(url, { signal: ctx.signal });
        if (res.statusCode !== 200) throw await statusError(display, res);
        const saved = await saveStream(res.body, ctx.dest, {
          maxBytes: ctx.maxBytes,
          expected: contentLength(res),
          label: final.pathname.split('/').pop() || 'model.onnx',
          progress: ctx.progress,
          signal: ctx.signal,
        }).catch((err: unknown) => {
          throw err instanceof PullError || ctx.signal?.aborted ? err : networkError(final, err);
        });
        return { ...saved, resolved: final.href, configs: {} };
      } finally {
        await egress.close();
      }
    },
  };
}
