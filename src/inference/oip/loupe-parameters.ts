import type { ImageWarning } from '../../images/index.ts';
import type { Classification } from '../types.ts';
import type { OipParameters } from './types.ts';

type ImageFacts = Pick<Classification, 'image' | 'timings_ms' | 'warnings'>;

/** OIP parameters are scalars, so the images' warnings travel as one JSON string. */
export const WARNINGS_PARAMETER = 'loupe_warnings';

/**
 * `loupe_warnings`: a JSON array of `{image, code, message}`, `image` being the element's index
 * in the BYTES input; absent when no image has a warning.
 */
export function warningsParameter(perImage: ReadonlyArray<readonly ImageWarning[]>): OipParameters | undefined {
  const all = perImage.flatMap((list, image) => list.map((w) => ({ image, ...w })));
  return all.length ? { [WARNINGS_PARAMETER]: JSON.stringify(all) } : undefined;
}

/** The first image's warnings back from `loupe_warnings` (a gateway sends one image per request). */
function readWarnings(raw: unknown): ImageWarning[] {
  if (typeof raw !== 'string') return [];
  try {
    const list = JSON.parse(raw) as Array<ImageWarning & { image?: number }>;
    return Array.isArray(list)
      ? list.filter((w) => (w.image ?? 0) === 0).map(({ code, message }) => ({ code, message }))
      : [];
  } catch {
    return [];
  }
}

/**
 * For a single image, a model server sends the decoded size and the stage timings back as
 * response parameters, so a gateway can report them as if it had run the model itself.
 */
export function imageParameters(
  image: Classification['image'],
  t: Omit<Classification['timings_ms'], 'total'>,
): OipParameters {
  return {
    loupe_decode_ms: t.decode,
    loupe_preprocess_ms: t.preprocess,
    loupe_queue_ms: t.queue,
    loupe_inference_ms: t.inference,
    loupe_image_format: image.format,
    loupe_image_width: image.width,
    loupe_image_height: image.height,
  };
}

/** The gateway's side of `imageParameters`; `totalMs` is the gateway's own. */
export function readImageParameters(p: OipParameters | undefined, totalMs: number): ImageFacts {
  const q = p ?? {};
  const ms = (x: unknown) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : 0);
  return {
    image: {
      format: String(q.loupe_image_format ?? 'unknown'),
      width: Number(q.loupe_image_width ?? 0),
      height: Number(q.loupe_image_height ?? 0),
    },
    timings_ms: {
      decode: ms(q.loupe_decode_ms),
      preprocess: ms(q.loupe_preprocess_ms),
      queue: ms(q.loupe_queue_ms),
      inference: ms(q.loupe_inference_ms),
      total: ms(totalMs),
    },
    warnings: readWarnings(q[WARNINGS_PARAMETER]),
  };
}
