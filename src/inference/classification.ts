import { ErrorCode, LoupeError, quoted } from '../errors.ts';
import { MAX_NAME_LENGTH, VERSION_RULE, isOutOfRangeVersion, parseVersion } from '../models/index.ts';
import type { ModelInfo, Prediction } from './types.ts';

/**
 * Scores → labels, the same for every backend and every API: softmax where the model gives
 * logits, top-k with a stable tie order, and the one rule for how many labels a request gets.
 */

const DEFAULT_TOP_K = 5;

/** The labels a request gets: `requested`, or 5 (every class when fewer); 1..classes or a 400. */
export function resolveTopK(requested: number | undefined, classes: number, model: string): number {
  const topK = requested ?? Math.min(DEFAULT_TOP_K, classes);
  if (!Number.isInteger(topK) || topK < 1 || topK > classes) {
    throw new LoupeError(
      ErrorCode.BadRequest,
      `top_k must be an integer from 1 to ${classes} for model ${quoted(model)}`,
    );
  }
  return topK;
}

/**
 * OIP's classification count (`outputs[].parameters.classification`): 1..classes, else
 * INVALID_TENSOR (400 / INVALID_ARGUMENT). One rule for every transport and backend: a count
 * above the class count is refused, never clamped, as top_k is.
 */
export function resolveClassification(requested: unknown, classes: number): number {
  if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1 || requested > classes)
    throw new LoupeError(
      ErrorCode.InvalidTensor,
      `parameters.classification must be an integer from 1 to ${classes} (the model's class count), got ${typeof requested === 'number' ? requested : quoted(JSON.stringify(requested) ?? typeof requested, 32)}`,
    );
  return requested;
}

/** Indices of the `k` largest values, largest first (ties: lower index first). */
export function topIndices(row: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  return idx.slice(0, k);
}

export function softmax(row: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  const out = new Float32Array(row.length);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += out[i] = Math.exp(row[i]! - max);
  for (let i = 0; i < row.length; i++) out[i]! /= sum;
  return out;
}

/** One image's model output (logits or probabilities, as model.json says) → its top-k predictions. */
export function toPredictions(
  output: Float32Array,
  model: Pick<ModelInfo, 'output_kind' | 'labels'>,
  topK: number,
): Prediction[] {
  const scores = model.output_kind === 'logits' ? softmax(output) : output;
  return topIndices(scores, topK).map((index) => ({ label: model.labels[index]!, index, score: scores[index]! }));
}

/**
 * OIP's classification extension: for each of the `n` rows of [n, K] raw model scores, the
 * `top` best as "<score>:<index>:<label>" strings, as Triton writes them (its
 * classification.cc: the raw output value through std::to_string, i.e. C's "%f").
 */
export function classificationStrings(
  scores: Float32Array,
  n: number,
  labels: readonly string[],
  top: number,
): string[] {
  const k = labels.length;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = scores.subarray(i * k, (i + 1) * k);
    for (const idx of topIndices(row, top)) out.push(`${printfF(row[idx]!)}:${idx}:${labels[idx]!}`);
  }
  return out;
}

/**
 * A number as C's printf("%f") writes it (glibc): six decimals, rounded to nearest with ties to
 * even on the exact binary value, no exponent, "-0.000000" for negative zero, "inf"/"nan".
 */
export function printfF(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  const a = Math.abs(x);
  // Past 1e21 toFixed switches to exponents; such doubles are integers, printed in full.
  if (a >= 1e21) return `${sign}${BigInt(a).toString()}.000000`;
  // toFixed picks the larger of two equally near results; glibc the even one. A tie is a value
  // whose exact expansion ends in a 5 at the seventh decimal (toFixed(100) shows it exactly).
  const exact = a.toFixed(100);
  const tie = /\.\d{6}50*$/.test(exact);
  const lastEven = Number(exact.charAt(exact.indexOf('.') + 6)) % 2 === 0;
  return sign + (tie && lastEven ? exact.slice(0, exact.indexOf('.') + 7) : a.toFixed(6));
}

/**
 * Why a backend is not ready when its default model is missing from `names` (every backend's
 * /readyz and /v2/health/ready wait for it), or undefined when it is there.
 */
export function missingDefault(
  defaultModel: string,
  names: Iterable<string>,
  verb: 'loaded' | 'served',
): string | undefined {
  for (const n of names) if (n === defaultModel) return undefined;
  return `the default model "${defaultModel}" is not ${verb}`;
}

/**
 * Which of a model's versions a request means: the latest when it names none, else the exact
 * one ("01" means 1). `versions` are one model's, sorted ascending. Throws MODEL_NOT_FOUND.
 */
/**
 * A name or version longer than any model can have, refused before any lookup. The HTTP router
 * answers a path parameter over its own (larger) limit with the same text, so a long name gets
 * the same answer on every API, however long it is.
 */
export const NAME_TOO_LONG = `a model name or version is over ${MAX_NAME_LENGTH} characters`;

export function selectVersion(name: string, versions: readonly string[], requested: string | undefined): string {
  if ([name, requested ?? ''].some((s) => s.length > MAX_NAME_LENGTH && [...s].length > MAX_NAME_LENGTH))
    throw new LoupeError(ErrorCode.BadRequest, NAME_TOO_LONG);
  if (versions.length === 0) throw new LoupeError(ErrorCode.ModelNotFound, `model ${quoted(name)} is not loaded`);
  if (requested === undefined) return versions.at(-1)!;
  if (isOutOfRangeVersion(requested))
    throw new LoupeError(ErrorCode.BadRequest, `version ${quoted(requested)} is not valid: ${VERSION_RULE}`);
  const n = parseVersion(requested);
  const found = n === undefined ? undefined : versions.find((v) => v === String(n));
  if (found === undefined) {
    const known = versions.join(', ');
    throw new LoupeError(
      ErrorCode.ModelNotFound,
      `model ${quoted(name)} has no version ${quoted(requested)} (versions: ${known})`,
    );
  }
  return found;
}
