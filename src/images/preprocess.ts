import sharp, { type Metadata, type OutputInfo, type Sharp, type SharpOptions } from 'sharp';
import { ErrorCode, LoupeError } from '../errors.ts';
import { domainWarnings, type ImageWarning } from './domain.ts';
import { sniffFormat, type SupportedFormat } from './sniff.ts';

/** How a model wants its input; the `input` block of model.json. */
export interface PreprocessSpec {
  readonly color: 'rgb' | 'grayscale';
  readonly width: number;
  readonly height: number;
  readonly resize: 'shorter-side-center-crop' | 'stretch';
  /** Shorter side after resizing, before the center crop (torchvision's Resize(n)). */
  readonly resize_shorter?: number | undefined;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** The background of the training images, where model.json declares it. */
  readonly background?: 'dark' | 'light' | undefined;
}

export interface Preprocessed {
  /** CHW float32, normalized: one item of an NCHW batch. */
  readonly tensor: Float32Array;
  readonly format: SupportedFormat;
  readonly width: number;
  readonly height: number;
  readonly timings: { decode: number; preprocess: number };
  /** How far the upload is from what the model was trained on (empty: nothing to say). */
  readonly warnings: ImageWarning[];
}

export interface ImageLimits {
  readonly maxPixels: number;
}

/**
 * Bytes → model input. libvips decodes, applies EXIF orientation and resizes in one pass
 * (JPEGs shrink-on-load via DCT scaling, so a 12 MP photo never materialises at full size);
 * the color conversion and normalisation to float run here on the small result.
 */
export async function preprocess(bytes: Uint8Array, spec: PreprocessSpec, limits: ImageLimits): Promise<Preprocessed> {
  if (bytes.length === 0) throw new LoupeError(ErrorCode.EmptyBody, 'the image is empty (0 bytes)');
  const sniffed = sniffFormat(bytes);
  if (sniffed.kind === 'unsupported') {
    throw new LoupeError(
      ErrorCode.UnsupportedMediaType,
      `${sniffed.format} images are not supported; send JPEG, PNG, WebP, GIF, TIFF or AVIF`,
    );
  }
  if (sniffed.kind === 'unknown')
    throw new LoupeError(
      ErrorCode.InvalidImage,
      'the body is not an image Loupe recognises (JPEG, PNG, WebP, GIF, TIFF, AVIF)',
    );

  const t0 = performance.now();
  const options: SharpOptions = {
    limitInputPixels: limits.maxPixels,
    failOn: 'error',
    sequentialRead: true,
    animated: false,
  };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
  } catch (err) {
    throw decodeError(err, sniffed.format);
  }
  const width = meta.autoOrient?.width ?? meta.width ?? 0;
  const height = meta.autoOrient?.height ?? meta.height ?? 0;
  if (!width || !height) throw new LoupeError(ErrorCode.InvalidImage, `the ${sniffed.format} image has no dimensions`);
  if (width * height > limits.maxPixels) {
    throw new LoupeError(
      ErrorCode.ImageTooLarge,
      `the image is ${width}×${height} = ${width * height} pixels; the limit is ${limits.maxPixels}`,
    );
  }

  const channels = spec.color === 'grayscale' && (meta.channels ?? 3) <= 2 ? 1 : 3;
  let pipeline = sharp(bytes, options).autoOrient();
  pipeline = channels === 1 ? pipeline.extractChannel(0) : pipeline.removeAlpha().toColourspace('srgb');
  pipeline = resizeOps(pipeline, width, height, spec);
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(err, sniffed.format);
  }
  const t1 = performance.now();
  const tensor = normalize(raw.data, raw.info.channels, spec);
  const warnings = domainWarnings({ width, height, pixels: raw.data, channels: raw.info.channels }, spec);
  const t2 = performance.now();
  const timings = { decode: t1 - t0, preprocess: t2 - t1 };
  return { tensor, format: sniffed.format, width, height, timings, warnings };
}

/** torchvision's Resize(n) + CenterCrop(h, w), or a plain stretch to w×h. */
function resizeOps(p: Sharp, w: number, h: number, spec: PreprocessSpec): Sharp {
  if (spec.resize === 'stretch') return p.resize(spec.width, spec.height, { fit: 'fill', kernel: 'linear' });
  const shorter = spec.resize_shorter ?? Math.min(spec.width, spec.height);
  // torchvision truncates the longer side: int(shorter * long / short)
  const [rw, rh] = w <= h ? [shorter, Math.floor((shorter * h) / w)] : [Math.floor((shorter * w) / h), shorter];
  if (rw < spec.width || rh < spec.height) {
    throw new LoupeError(
      ErrorCode.InvalidImage,
      `resize_shorter ${shorter} is smaller than the ${spec.width}×${spec.height} crop`,
    );
  }
  // torchvision: crop_top = int(round((h - ch) / 2)) with Python's round-half-to-even
  const left = roundHalfEven((rw - spec.width) / 2);
  const top = roundHalfEven((rh - spec.height) / 2);
  const resized = rw === w && rh === h ? p : p.resize(rw, rh, { fit: 'fill', kernel: 'linear' });
  if (rw === spec.width && rh === spec.height) return resized;
  return resized.extract({ left, top, width: spec.width, height: spec.height });
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** HWC uint8 → CHW float32 with (x/255 - mean) / std; RGB → L uses PIL's ITU-R 601-2 weights. */
function normalize(data: Buffer, channels: number, spec: PreprocessSpec): Float32Array {
  const pixels = spec.width * spec.height;
  const outC = spec.color === 'grayscale' ? 1 : 3;
  const out = new Float32Array(outC * pixels);
  const scale = spec.std.map((s) => 1 / (255 * s));
  const shift = spec.mean.map((m, i) => m / spec.std[i]!);
  if (outC === 1) {
    const k = scale[0]!;
    const b = shift[0]!;
    for (let i = 0; i < pixels; i++) {
      const v =
        channels === 1
          ? data[i]!
          : (data[3 * i]! * 19595 + data[3 * i + 1]! * 38470 + data[3 * i + 2]! * 7471 + 0x8000) >> 16;
      out[i] = v * k - b;
    }
    return out;
  }
  for (let c = 0; c < 3; c++) {
    const k = scale[c]!;
    const b = shift[c]!;
    const base = c * pixels;
    for (let i = 0; i < pixels; i++) out[base + i] = data[3 * i + c]! * k - b;
  }
  return out;
}

function decodeError(err: unknown, format: string): LoupeError {
  const msg = err instanceof Error ? err.message : String(err);
  if (/pixel limit/i.test(msg))
    return new LoupeError(ErrorCode.ImageTooLarge, 'the image has more pixels than the configured limit', {
      cause: err,
    });
  return new LoupeError(ErrorCode.InvalidImage, `the ${format} image could not be decoded (truncated or corrupt)`, {
    cause: err,
  });
}
