import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { isInside } from './paths.ts';
import type { ModelConfig } from './schema.ts';

/**
 * What a person needs to know before trusting a model's answer: what it was trained on, what
 * it is for, how accurate it measured, and a few images of its own domain to try. Read from
 * model.json's `card`, the training output's metrics.json and a `samples/` folder; nothing
 * here is guessed, so an absent fact is absent, not a default.
 */
export interface ModelCard {
  readonly trained_on?: string | undefined;
  readonly intended_use?: string | undefined;
  readonly accuracy?: ModelAccuracy | undefined;
  /** File names in the version's (or else the model's) `samples/` folder. */
  readonly samples: readonly string[];
}

export interface ModelAccuracy {
  /** Top-1 accuracy on held-out test images, 0..1. */
  readonly top1: number;
  readonly test_images?: number | undefined;
  readonly dataset?: string | undefined;
}

/** A sample's file name: a plain name with an image extension, so it can never name a path. */
export const SAMPLE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(png|jpe?g|webp)$/;
/** The Content-Type a sample is served with, from its (checked) extension. */
export function sampleType(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.png' ? 'image/png' : ext === '.webp' ? 'image/webp' : 'image/jpeg';
}

/** More would make the card a gallery; the page shows them all as one-click buttons. */
const MAX_SAMPLES = 12;

/** `samplesDir`: the version's sample folder (sampleDir), found once by the store scan. */
export function readCard(
  config: ModelConfig,
  modelDir: string,
  versionDir: string,
  samplesDir: string | undefined,
): ModelCard {
  // A sample linked out of the model's directory is not served, as the store serves no such file.
  const samples = samplesDir
    ? readdirSync(samplesDir)
        .filter((f) => SAMPLE_NAME.test(f) && isFileInside(path.join(samplesDir, f), modelDir))
        .sort()
        .slice(0, MAX_SAMPLES)
    : [];
  return {
    trained_on: config.card?.trained_on,
    intended_use: config.card?.intended_use,
    accuracy: readAccuracy(versionDir),
    samples,
  };
}

function isFileInside(file: string, dir: string): boolean {
  try {
    return statSync(file).isFile() && isInside(file, dir);
  } catch {
    return false; // a dangling link
  }
}

/** The folder a version's samples come from: its own `samples/`, else the model's. */
export function sampleDir(modelDir: string, versionDir: string): string | undefined {
  return [path.join(versionDir, 'samples'), path.join(modelDir, 'samples')].find(
    (d) => existsSync(d) && statSync(d).isDirectory(),
  );
}

/**
 * training/train.py writes metrics.json next to the model it trained (`test_accuracy`,
 * `test_images`, `dataset`). A file that does not say, or says nonsense, gives no accuracy.
 */
function readAccuracy(versionDir: string): ModelAccuracy | undefined {
  const file = path.join(versionDir, 'metrics.json');
  if (!existsSync(file)) return undefined;
  let m: { test_accuracy?: unknown; test_images?: unknown; dataset?: unknown };
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as typeof m;
  } catch {
    return undefined;
  }
  if (typeof m.test_accuracy !== 'number' || !(m.test_accuracy >= 0 && m.test_accuracy <= 1)) return undefined;
  return {
    top1: Math.round(m.test_accuracy * 10000) / 10000,
    test_images: typeof m.test_images === 'number' ? m.test_images : undefined,
    dataset: typeof m.dataset === 'string' ? m.dataset : undefined,
  };
}
