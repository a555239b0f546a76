import type { Config } from '../../config/index.ts';
import { ErrorCode, LoupeError } from '../../errors.ts';
import type { Logger, Metrics } from '../../observability/index.ts';
import { softmax, topIndices, type OipInferRequest, type OipInferResponse } from '../oip/index.ts';
import {
  resolveTopK,
  type Classification,
  type ClassifyRequest,
  type InferenceBackend,
  type ModelInfo,
  type Readiness,
} from '../types.ts';
import { Endpoints } from './endpoints.ts';

export interface RemoteBackendDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/**
 * Inference on model servers over the Open Inference Protocol. Images go untouched as a
 * binary BYTES input (the model server preprocesses with the model's own config); scores come
 * back as binary FP32. A request whose replica fails (connection refused or reset, 5xx) is
 * retried on another replica, so losing one replica costs clients nothing.
 */
export class RemoteBackend implements InferenceBackend {
  private readonly deps: RemoteBackendDeps;
  private readonly endpoints: Endpoints;
  private models: ModelInfo[] = [];
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private lastError: string | undefined;

  constructor(deps: RemoteBackendDeps) {
    this.deps = deps;
    if (!deps.config.LOUPE_MODEL_SERVER_URL)
      throw new LoupeError(ErrorCode.Internal, 'LOUPE_MODEL_SERVER_URL is required for this role');
    this.endpoints = new Endpoints(deps.config.LOUPE_MODEL_SERVER_URL);
  }

  /** Resolves the replicas and learns the models; keeps doing so every LOUPE_MODEL_POLL_S. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.refresh();
    const every = Math.max(1, this.deps.config.LOUPE_MODEL_POLL_S || 5);
    this.timer = setInterval(() => {
      void this.refresh();
    }, every * 1000);
    this.timer.unref();
  }

  async refresh(): Promise<void> {
    try {
      await this.endpoints.resolve();
      const list = await this.json<{ models: Array<{ name: string; versions: string[] }> }>('GET', '/models');
      const infos: ModelInfo[] = [];
      for (const m of list.models) {
        for (const v of m.versions)
          infos.push(toInfo(await this.json<RemoteModel>('GET', `/models/${encodeURIComponent(m.name)}?version=${v}`)));
      }
      this.models = infos;
      this.deps.metrics.modelsLoaded.set(infos.length);
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
      this.deps.logger.warn(
        { err: this.lastError, url: this.deps.config.LOUPE_MODEL_SERVER_URL },
        'model servers not reachable yet',
      );
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.endpoints.close();
  }

  readiness(): Readiness {
    const models = this.models.map((m) => ({ name: m.name, version: m.version, ready: true }));
    if (this.endpoints.size === 0 || this.models.length === 0)
      return {
        ready: false,
        models,
        problems: [],
        reason: `no model server answers at ${this.deps.config.LOUPE_MODEL_SERVER_URL}${this.lastError ? ` (${this.lastError})` : ''}`,
      };
    const def = this.deps.config.LOUPE_DEFAULT_MODEL;
    if (!this.models.some((m) => m.name === def))
      return { ready: false, models, problems: [], reason: `the default model "${def}" is not served` };
    return { ready: true, models, problems: [] };
  }

  listModels(): ModelInfo[] {
    return this.models;
  }

  getModel(name: string, version?: string): ModelInfo {
    if (this.models.length === 0) {
      throw new LoupeError(
        ErrorCode.NotReady,
        `no model server has answered yet at ${this.deps.config.LOUPE_MODEL_SERVER_URL}`,
        { retryAfterS: this.deps.config.LOUPE_RETRY_AFTER_S },
      );
    }
    const versions = this.models.filter((m) => m.name === name);
    if (!versions.length) throw new LoupeError(ErrorCode.ModelNotFound, `model "${name}" is not loaded`);
    if (version === undefined) return versions.at(-1)!;
    const m = versions.find((x) => x.version === String(Number(version)));
    if (!m)
      throw new LoupeError(
        ErrorCode.ModelNotFound,
        `model "${name}" has no version "${version}" (versions: ${versions.map((x) => x.version).join(', ')})`,
      );
    return m;
  }

  /** The model servers apply backpressure themselves; their 503s pass through. */
  checkCapacity(): void {}

  async classify(req: ClassifyRequest): Promise<Classification> {
    const started = performance.now();
    const name = req.model ?? this.deps.config.LOUPE_DEFAULT_MODEL;
    const m = this.getModel(name, req.version);
    const topK = resolveTopK(req.topK, m.labels.length, m.name);
    const res = await this.infer(m.name, req.version === undefined ? undefined : m.version, {
      inputs: [{ name: 'image', shape: [1], datatype: 'BYTES' }],
      outputs: [{ name: m.outputs[0]!.name, parameters: { binary_data: true } }],
      binaryInputs: new Map([['image', withLength(req.image)]]),
    });
    const out = res.outputs[0]!;
    const raw = out.binary
      ? new Float32Array(out.binary.buffer.slice(out.binary.byteOffset, out.binary.byteOffset + out.binary.byteLength))
      : Float32Array.from(out.data as number[]);
    const scores = m.output_kind === 'logits' ? softmax(raw) : raw;
    const p = res.parameters ?? {};
    const num = (x: unknown) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : 0);
    this.deps.metrics.predictions.inc({ model: res.model_name, version: res.model_version ?? m.version });
    return {
      model: { name: res.model_name, version: res.model_version ?? m.version },
      predictions: topIndices(scores, topK).map((index) => ({ label: m.labels[index]!, index, score: scores[index]! })),
      image: {
        format: String(p.loupe_image_format ?? 'unknown'),
        width: Number(p.loupe_image_width ?? 0),
        height: Number(p.loupe_image_height ?? 0),
      },
      timings_ms: {
        decode: num(p.loupe_decode_ms),
        preprocess: num(p.loupe_preprocess_ms),
        queue: num(p.loupe_queue_ms),
        inference: num(p.loupe_inference_ms),
        total: num(performance.now() - started),
      },
    };
  }

  async infer(name: string, version: string | undefined, req: OipInferRequest): Promise<OipInferResponse> {
    const path = `/v2/models/${encodeURIComponent(name)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/infer`;
    const { binaryInputs, ...header } = req;
    const chunks: Uint8Array[] = [];
    const inputs = header.inputs.map((i) => {
      const bin = binaryInputs?.get(i.name);
      if (!bin) return i;
      chunks.push(bin);
      return { ...i, parameters: { ...i.parameters, binary_data_size: bin.byteLength } };
    });
    const headJson = Buffer.from(JSON.stringify({ ...header, inputs }));
    const body = Buffer.concat([headJson, ...chunks]);
    const answer = await this.send('POST', path, body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(headJson.length),
    });
    return decodeResponse(answer);
  }

  private async json<T>(method: string, path: string): Promise<T> {
    const a = await this.send(method, path);
    return JSON.parse(a.body.toString('utf8')) as T;
  }

  /** One request, retried on another replica when a replica is down or failing. */
  private async send(
    method: string,
    path: string,
    body?: Buffer,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    if (this.endpoints.size === 0) await this.endpoints.resolve().catch(() => undefined);
    const targets = this.endpoints.pick(Math.max(3, this.endpoints.size));
    if (targets.length === 0)
      throw new LoupeError(ErrorCode.NotReady, 'no model server is reachable', {
        retryAfterS: this.deps.config.LOUPE_RETRY_AFTER_S,
      });
    let last: Answer | undefined;
    let lastErr: unknown;
    for (const { origin, pool } of targets) {
      let answer: Answer;
      try {
        const res = await pool.request({ method: method as 'GET', path, body: body ?? null, headers });
        answer = { status: res.statusCode, headers: res.headers, body: Buffer.from(await res.body.arrayBuffer()) };
      } catch (err) {
        lastErr = err;
        this.deps.logger.warn(
          { origin, err: (err as Error).message, path },
          'model server unreachable; trying another replica',
        );
        continue;
      }
      // A 4xx is the request's own fault: the same on every replica, so no retry.
      if (answer.status < 500) return check(answer);
      last = answer;
      this.deps.logger.warn({ origin, status: answer.status, path }, 'model server failed; trying another replica');
    }
    void this.endpoints.resolve().catch(() => undefined);
    if (last) return check(last);
    throw new LoupeError(
      ErrorCode.NotReady,
      `no model server answered (${(lastErr as Error)?.message ?? 'unknown error'})`,
      { retryAfterS: this.deps.config.LOUPE_RETRY_AFTER_S, cause: lastErr },
    );
  }
}

interface RemoteModel {
  name: string;
  version: string;
  provider: string;
  description?: string;
  labels: string[];
  inputs: ModelInfo['inputs'];
  outputs: ModelInfo['outputs'];
  preprocessing: ModelInfo['input'];
  output_kind: ModelInfo['output_kind'];
  batching: ModelInfo['batching'];
}

function toInfo(r: RemoteModel): ModelInfo {
  return {
    name: r.name,
    version: r.version,
    format: 'onnx',
    platform: 'onnxruntime_onnx',
    inputs: r.inputs,
    outputs: r.outputs,
    labels: r.labels,
    provider: r.provider,
    input: r.preprocessing,
    output_kind: r.output_kind,
    batching: r.batching,
    description: r.description,
  };
}

/** A non-2xx answer becomes the same LoupeError the model server raised. */
function check(a: Answer): Answer {
  if (a.status >= 200 && a.status < 300) return a;
  const code = String(a.headers['x-loupe-error-code'] ?? '');
  let message = `model server answered ${a.status}`;
  try {
    const body = JSON.parse(a.body.toString('utf8')) as { error?: string | { message?: string } };
    message = typeof body.error === 'string' ? body.error : (body.error?.message ?? message);
  } catch {
    /* not JSON */
  }
  const known = KNOWN_CODES.has(code) ? (code as ErrorCode) : undefined;
  const fallback =
    a.status === 404
      ? ErrorCode.ModelNotFound
      : a.status === 503
        ? ErrorCode.Overloaded
        : a.status < 500
          ? ErrorCode.BadRequest
          : ErrorCode.Internal;
  const retry = a.headers['retry-after'];
  throw new LoupeError(known ?? fallback, message, retry ? { retryAfterS: Number(retry) } : {});
}

function decodeResponse(a: Answer): OipInferResponse {
  const hl = a.headers['inference-header-content-length'];
  if (hl === undefined) return JSON.parse(a.body.toString('utf8')) as OipInferResponse;
  const n = Number(hl);
  const res = JSON.parse(a.body.subarray(0, n).toString('utf8')) as OipInferResponse;
  let off = n;
  for (const o of res.outputs) {
    const size = o.parameters?.binary_data_size;
    if (typeof size === 'number') {
      o.binary = a.body.subarray(off, off + size);
      off += size;
    }
  }
  return res;
}

/** A raw image becomes one length-prefixed BYTES element (Triton's binary layout). */
function withLength(bytes: Uint8Array): Uint8Array {
  const out = Buffer.alloc(4 + bytes.byteLength);
  out.writeUInt32LE(bytes.byteLength, 0);
  out.set(bytes, 4);
  return out;
}
