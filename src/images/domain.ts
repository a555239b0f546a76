import type { PreprocessSpec } from './preprocess.ts';

/**
 * An upload far from what the model was trained on. A classifier labels anything with
 * confidence (a landscape into the 28×28 clothing model comes back "Bag 89 %"), so the answer
 * says when the input does not look like the model's training data. Only what the model's input
 * spec states is checked: its colour, its size, and (where model.json declares it) the
 * background of its training images.
 */
export interface ImageWarning {
  readonly code: 'COLOR_IMAGE' | 'LARGE_IMAGE' | 'LIGHT_BACKGROUND' | 'DARK_BACKGROUND';
  readonly message: string;
}

/** The decoded upload as preprocess saw it. */
export interface ImageFacts {
  readonly width: number;
  readonly height: number;
  /** The resized image the model gets, HWC uint8, before normalisation. */
  readonly pixels: Uint8Array;
  readonly channels: number;
}

/**
 * Mean spread between a pixel's strongest and weakest channel (0..255) above which an image
 * counts as colour: a grayscale image saved as RGB (JPEG noise included) stays far below it,
 * a photo of a scene far above.
 */
const COLOR_SPREAD = 12;
/**
 * How many times smaller the model sees an image before it counts as far from the model's
 * scale: a phone photo (3000 px) into a 224 px ImageNet model shrinks ~12×, fine; a photo of
 * more than ~900 px into the 28 px clothing model shrinks past this.
 */
const MAX_SHRINK = 32;

export function domainWarnings(facts: ImageFacts, spec: PreprocessSpec): ImageWarning[] {
  const out: ImageWarning[] = [];
  const { pixels, channels } = facts;
  const n = spec.width * spec.height;
  if (spec.color === 'grayscale' && channels === 3 && colorSpread(pixels, n) > COLOR_SPREAD) {
    out.push({
      code: 'COLOR_IMAGE',
      message:
        'The image is in colour; this model was trained on grayscale images only, so its labels may mean little for it.',
    });
  }
  const side = spec.resize === 'stretch' ? undefined : (spec.resize_shorter ?? Math.min(spec.width, spec.height));
  const shrink = side
    ? Math.min(facts.width, facts.height) / side
    : Math.min(facts.width / spec.width, facts.height / spec.height);
  if (shrink > MAX_SHRINK) {
    out.push({
      code: 'LARGE_IMAGE',
      message: `The image is ${facts.width}×${facts.height}; this model looks at ${spec.width}×${spec.height}, so it sees it ${Math.round(shrink)} times smaller and fine detail is lost.`,
    });
  }
  if (spec.background) {
    const light = borderLuminance(pixels, channels, spec.width, spec.height) > 128;
    if (light && spec.background === 'dark')
      out.push({
        code: 'LIGHT_BACKGROUND',
        message:
          'The image has a light background; this model was trained on objects on a dark background, so its labels may mean little for it.',
      });
    if (!light && spec.background === 'light')
      out.push({
        code: 'DARK_BACKGROUND',
        message:
          'The image has a dark background; this model was trained on objects on a light background, so its labels may mean little for it.',
      });
  }
  return out;
}

function colorSpread(rgb: Uint8Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb[3 * i]!;
    const g = rgb[3 * i + 1]!;
    const b = rgb[3 * i + 2]!;
    sum += Math.max(r, g, b) - Math.min(r, g, b);
  }
  return sum / n;
}

/** Mean brightness of the outermost ring of pixels: where a centred object's background shows. */
function borderLuminance(px: Uint8Array, channels: number, w: number, h: number): number {
  let sum = 0;
  let count = 0;
  const at = (x: number, y: number) => {
    const i = (y * w + x) * channels;
    sum += channels === 1 ? px[i]! : 0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!;
    count++;
  };
  for (let x = 0; x < w; x++) {
    at(x, 0);
    if (h > 1) at(x, h - 1);
  }
  for (let y = 1; y < h - 1; y++) {
    at(0, y);
    if (w > 1) at(w - 1, y);
  }
  return sum / count;
}
