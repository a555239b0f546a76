import { ErrorCode, LoupeError, quoted } from '../../errors.ts';
import { preprocess, type Preprocessed } from '../../images/index.ts';
import type { Metrics, Tracing } from '../../observability/index.ts';
import { resolveTopK, toPredictions } from '../classification.ts';
import {
  decodeInput,
  checkOutputs,
  encodeOutputs,
  imageParameters,
  warningsParameter,
  type OipInferRequest,
  type OipInferResponse,
} from '../oip/index.ts';
import type { Classification, ClassifyRequest } from '../types.ts';
import type { BatchResult } from './batcher.ts';
import type { LoadedModel } from './load.ts';

/** What running a request on a loaded model version needs from its backend. */
export interface RunDeps {
  readonly metrics: Metrics;
  readonly maxPixels: number;
  readonly tracing: Tracing;
}

interface Admitted {
  readonly image: Preprocessed;
  readonly release: () => void;
}

/** One uploaded image → its top-k labels, with the time each stage took. */
export function classifyOn(m: LoadedModel, req: ClassifyRequest, deps: RunDeps): Promise<Classification> {
  return recorded(m, deps, async (t) => {
    const topK = resolveTopK(req.topK, m.entry.labels.length, m.info.name);
    const { image, release } = await decodeAdmitted(m, req.image, deps);
    const result = await t.wait(m.batcher.submit(image.tensor, release));
    const model = { name: m.info.name, version: m.info.version };
    const labels = { model: model.name, version: model.version };
    deps.metrics.queueDuration.observe(labels, result.queueMs / 1000);
    deps.metrics.predictions.inc(labels);
    const { decode, preprocess } = image.timings;
    const timings = { decode, preprocess, queue: result.queueMs, inference: result.inferenceMs };
    return {
      model,
      predictions: toPredictions(result.output, m.info, topK),
      image: { format: image.format, width: image.width, height: image.height },
      timings_ms: round({ ...timings, total: performance.now() - t.started }),
      warnings: image.warnings,
    };
  });
}

/** An OIP inference request: an FP32 batch, or encoded images this server preprocesses. */
export function inferOn(m: LoadedModel, req: OipInferRequest, deps: RunDeps): Promise<OipInferResponse> {
  return recorded(m, deps, (t) => infer(m, req, deps, t));
}

async function infer(m: LoadedModel, req: OipInferRequest, deps: RunDeps, t: Stages): Promise<OipInferResponse> {
  const want = m.info.inputs[0]!;
  if (!Array.isArray(req.inputs) || req.inputs.length !== 1) {
    throw new LoupeError(
      ErrorCode.InvalidTensor,
      `model ${quoted(m.info.name)} takes exactly one input (${quoted(want.name)})`,
    );
  }
  checkOutputs(req, m.outputName, m.entry.labels.length);
  const input = decodeInput(req.inputs[0]!);
  // As in Triton, a request's batch is at most max_batch_size: one request cannot take a whole queue.
  const n = input.kind === 'tensor' ? input.shape[0]! : input.images.length;
  const max = m.info.batching.max_batch_size;
  if (n > max) {
    throw new LoupeError(
      ErrorCode.InvalidTensor,
      `a batch of ${n} is more than model ${quoted(m.info.name)} takes (max_batch_size ${max})`,
    );
  }
  let results: BatchResult[];
  let parameters: OipInferResponse['parameters'];
  if (input.kind === 'tensor') {
    if (input.name !== want.name) {
      throw new LoupeError(
        ErrorCode.InvalidTensor,
        `unknown input ${quoted(input.name)}; the model takes ${quoted(want.name)}`,
      );
    }
    const [, ...chw] = want.shape;
    if (input.shape.length !== 4 || input.shape.slice(1).some((d, i) => d !== chw[i])) {
      const msg = `input ${quoted(input.name)} has shape [${input.shape}]; the model takes [N, ${chw.join(', ')}]`;
      throw new LoupeError(ErrorCode.InvalidTensor, msg);
    }
    const size = chw.reduce((a, b) => a * b, 1);
    const items = Array.from({ length: input.shape[0]! }, (_, i) => input.data.subarray(i * size, (i + 1) * size));
    results = await t.wait(Promise.all(items.map((x) => m.batcher.submit(x))));
  } else {
    const pre = await decodeAllAdmitted(m, input.images, deps);
    results = await t.wait(Promise.all(pre.map((p) => m.batcher.submit(p.image.tensor, p.release))));
    if (pre.length === 1) {
      const { image } = pre[0]!;
      const timings = { ...image.timings, queue: results[0]!.queueMs, inference: results[0]!.inferenceMs };
      parameters = imageParameters(image, timings);
    }
    const warnings = warningsParameter(pre.map((p) => p.image.warnings));
    if (warnings) parameters = { ...parameters, ...warnings };
  }
  deps.metrics.predictions.inc({ model: m.info.name, version: m.info.version }, results.length);
  const k = m.entry.labels.length;
  const scores = new Float32Array(results.length * k);
  results.forEach((r, i) => scores.set(r.output, i * k));
  return {
    model_name: m.info.name,
    model_version: m.info.version,
    ...(req.id !== undefined ? { id: req.id } : {}),
    ...(parameters ? { parameters } : {}),
    outputs: encodeOutputs(req, m.outputName, scores, results.length, m.entry.labels),
  };
}

/** Marks where a request's work moves from preparing its input to waiting for its batch(es). */
interface Stages {
  readonly started: number;
  wait<T extends BatchResult | BatchResult[]>(submitted: Promise<T>): Promise<T>;
}

/**
 * Runs one request on a model version and records it in the version's statistics: on success
 * the time of each stage (everything before the batcher is compute_input, everything after it
 * compute_output), on failure only the time it took.
 */
function recorded<T>(m: LoadedModel, deps: RunDeps, work: (t: Stages) => Promise<T>): Promise<T> {
  const { name, version, provider } = m.info;
  const attributes = { 'loupe.model': name, 'loupe.model.version': version, 'loupe.provider': provider };
  return deps.tracing.span('loupe.inference', attributes, () => timed(m, work));
}

async function timed<T>(m: LoadedModel, work: (t: Stages) => Promise<T>): Promise<T> {
  const started = performance.now();
  let inputMs = 0;
  let queueMs = 0;
  let inferMs = 0;
  let back = started;
  const stages: Stages = {
    started,
    async wait(submitted) {
      inputMs = performance.now() - started;
      const r = await submitted;
      const list: BatchResult[] = Array.isArray(r) ? r : [r];
      queueMs = Math.max(0, ...list.map((x) => x.queueMs));
      // Items of one request may share a run or go into several: each run counts once.
      inferMs = [...new Map(list.map((x) => [x.batch, x.inferenceMs])).values()].reduce((a, b) => a + b, 0);
      back = performance.now();
      return r;
    },
  };
  try {
    const out = await work(stages);
    const end = performance.now();
    m.stats.success({ totalMs: end - started, inputMs, queueMs, inferMs, outputMs: end - back });
    return out;
  } catch (err) {
    m.stats.failure(performance.now() - started);
    throw err;
  }
}

/**
 * Decodes an upload only after reserving its queue place: an overloaded model refuses at
 * once instead of decoding images to drop them. The release goes to batcher.submit().
 */
async function decodeAdmitted(m: LoadedModel, bytes: Uint8Array, deps: RunDeps): Promise<Admitted> {
  const release = m.batcher.admit();
  try {
    const attributes = { 'loupe.model': m.info.name, 'loupe.image.bytes': bytes.byteLength };
    const image = await deps.tracing.span('loupe.decode', attributes, async (span) => {
      const img = await preprocess(bytes, m.spec, { maxPixels: deps.maxPixels });
      span.set({ 'loupe.image.format': img.format, 'loupe.image.width': img.width, 'loupe.image.height': img.height });
      return img;
    });
    return { image, release };
  } catch (err) {
    release();
    throw err;
  }
}

/** All or nothing: when one image fails, the places the others took are given back. */
async function decodeAllAdmitted(m: LoadedModel, images: Uint8Array[], deps: RunDeps): Promise<Admitted[]> {
  const decoded = await Promise.allSettled(images.map((img) => decodeAdmitted(m, img, deps)));
  const failed = decoded.find((d) => d.status === 'rejected');
  if (!failed) return decoded.map((d) => (d as PromiseFulfilledResult<Admitted>).value);
  for (const d of decoded) if (d.status === 'fulfilled') d.value.release();
  throw failed.reason;
}

function round(t: Classification['timings_ms']): Classification['timings_ms'] {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    decode: r(t.decode),
    preprocess: r(t.preprocess),
    queue: r(t.queue),
    inference: r(t.inference),
    total: r(t.total),
  };
}
