import type { ModelConfig } from '../schema.ts';
import { PullError } from './errors.ts';

type Input = { [K in keyof ModelConfig['input']]?: ModelConfig['input'][K] | undefined };
type Json = Record<string, unknown>;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const nums = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => num(x) !== undefined) ? (v as number[]) : undefined;

/** `size` / `crop_size` in any of the forms transformers writes: 224, {shortest_edge}, {height, width}. */
function dims(v: unknown): { shortest?: number; height?: number; width?: number } | undefined {
  if (num(v) !== undefined) return { height: v as number, width: v as number };
  if (v && typeof v === 'object') {
    const o = v as Json;
    if (num(o.shortest_edge) !== undefined && o.longest_edge === undefined)
      return { shortest: o.shortest_edge as number };
    if (num(o.height) !== undefined && num(o.width) !== undefined)
      return { height: o.height as number, width: o.width as number };
  }
  return undefined;
}

/**
 * A Hugging Face `preprocessor_config.json` (transformers' image processors) as Loupe's
 * preprocessing, where Loupe's pipeline can do the same thing: resize the shorter side then
 * center-crop (ResNet/ConvNext's crop_pct, MobileNet's crop_size), or stretch to a fixed size
 * (ViT); mean/std after rescaling (a rescale_factor other than 1/255 is folded into them).
 * Anything else is refused with the setting named, rather than served subtly wrong.
 */
export function fromHfPreprocessor(p: Json): Input {
  const unsupported = (what: string) =>
    new PullError(
      `preprocessor_config.json asks for ${what}, which Loupe's preprocessing cannot do; give the preprocessing with --preset or flags`,
    );
  if (p.do_resize === false) throw unsupported('no resizing');
  if (p.rescale_offset === true) throw unsupported('rescale_offset');
  // A bare number means the shorter side for processors that crop (ConvNext's crop_pct,
  // MobileNet's crop_size), a square elsewhere (ViT), as transformers' get_size_dict reads it.
  const crops = num(p.crop_pct) !== undefined || (p.do_center_crop !== false && p.crop_size !== undefined);
  const size = num(p.size) !== undefined && crops ? { shortest: p.size as number } : dims(p.size);
  if (!size) throw unsupported(`size ${JSON.stringify(p.size)}`);
  const crop = p.do_center_crop === false ? undefined : dims(p.crop_size);
  let input: Input;
  const cropPct = num(p.crop_pct);
  if (size.shortest !== undefined && cropPct !== undefined && p.crop_size === undefined) {
    // ConvNextImageProcessor (microsoft/resnet-50 too): below 384, Resize(edge / crop_pct) + CenterCrop(edge).
    const edge = size.shortest;
    input =
      edge < 384
        ? { resize: 'shorter-side-center-crop', resize_shorter: Math.floor(edge / cropPct), width: edge, height: edge }
        : { resize: 'stretch', width: edge, height: edge };
  } else if (size.shortest !== undefined) {
    if (!crop?.height || !crop.width) throw unsupported('a shortest-edge resize without a center crop (no fixed size)');
    input = {
      resize: 'shorter-side-center-crop',
      resize_shorter: size.shortest,
      width: crop.width,
      height: crop.height,
    };
  } else if (crop && (crop.height !== size.height || crop.width !== size.width)) {
    throw unsupported('a fixed-size resize followed by a center crop');
  } else {
    input = { resize: 'stretch', width: size.width!, height: size.height! };
  }
  const rescale = p.do_rescale === false ? 1 : (num(p.rescale_factor) ?? 1 / 255);
  // Loupe computes (pixel/255 − mean) / std; transformers (pixel·rescale − mean) / std.
  const k = 1 / (255 * rescale);
  if (p.do_normalize === false) return { ...input, color: 'rgb', mean: [0, 0, 0], std: [k, k, k] };
  const mean = nums(p.image_mean);
  const std = nums(p.image_std);
  if (!mean || !std) throw unsupported('normalisation without image_mean/image_std');
  const three = (a: number[]) => (a.length === 1 ? [a[0]!, a[0]!, a[0]!] : a);
  return {
    ...input,
    color: 'rgb',
    mean: three(mean).map((m) => clean(m * k)),
    std: three(std).map((s) => clean(s * k)),
  };
}

/** Float noise from folding (0.485 × 1.0000000001) kept out of model.json. */
const clean = (x: number) => Number(x.toPrecision(12));

/** Labels from a transformers `config.json`'s id2label, when it has all of 0..n-1. */
export function labelsFromHfConfig(c: Json): string[] | undefined {
  const map = c.id2label;
  if (!map || typeof map !== 'object') return undefined;
  const entries = Object.entries(map as Json);
  const labels: string[] = [];
  for (const [k, v] of entries) {
    if (!/^\d+$/.test(k) || typeof v !== 'string' || Number(k) >= entries.length) return undefined;
    labels[Number(k)] = v.replace(/[\r\n]+/g, ' ').trim() || `class ${k}`;
  }
  return labels.length === entries.length ? labels : undefined;
}
