import { ErrorCode, LoupeError, quoted } from '../errors.ts';
import { MAX_NAME_LENGTH } from '../models/index.ts';
import { NAME_TOO_LONG } from './classification.ts';

/**
 * Triton's model repository extension (load, unload), transport-neutral: HTTP and gRPC turn
 * their `parameters` into a plain record and call these, so both refuse the same things with
 * the same words.
 */

/** LOUPE_MODEL_CONTROL, as Triton's --model-control-mode. */
export type ModelControlMode = 'poll' | 'explicit' | 'none';

/** What a load's `config` override may change: the batching Loupe has. Absent fields keep the model's. */
export interface BatchingOverride {
  readonly max_batch_size?: number;
  readonly max_queue_delay_ms?: number;
  readonly max_queue_size?: number;
}

export interface LoadOptions {
  readonly batching?: BatchingOverride | undefined;
}

/** One model server's answer to a load or unload the gateway fanned out. */
export type ReplicaOutcome =
  | { readonly replica: string; readonly status: 'ok' }
  | { readonly replica: string; readonly error: { readonly code: ErrorCode; readonly message: string } };

/** What a load or unload reports: nothing in-process (Triton's `{}`), each replica's outcome behind a gateway. */
export interface ControlResult {
  readonly replicas?: readonly ReplicaOutcome[];
}

/** A fanned-out load or unload that failed on at least one replica: the first failure's code, and every outcome. */
export class ReplicaControlError extends LoupeError {
  readonly replicas: readonly ReplicaOutcome[];

  constructor(first: LoupeError, replicas: readonly ReplicaOutcome[]) {
    // gRPC has no field for the report: the message names the replicas that failed.
    const failed = replicas.filter((r) => 'error' in r).map((r) => r.replica);
    const which = `failed on ${failed.length} of ${replicas.length} model servers: ${failed.join(', ')}`;
    super(
      first.code,
      `${first.message} (${which})`,
      first.retryAfterS !== undefined ? { retryAfterS: first.retryAfterS } : {},
    );
    this.replicas = replicas;
  }
}

/** A parameter value as either transport carries it (Triton's ModelRepositoryParameter). */
export type ControlParameters = Readonly<Record<string, unknown>>;

const bad = (message: string) => new LoupeError(ErrorCode.BadRequest, message);

/** A name no store can hold is 400 before any lookup, as for every other API that names a model. */
export function checkControlTarget(name: string): void {
  if (!name) throw bad('the request names no model');
  if ([...name].length > MAX_NAME_LENGTH) throw bad(NAME_TOO_LONG);
}

/** The parameters of a load: `config` (a Triton model config, JSON) may override batching; nothing else is taken. */
export function parseLoadParameters(model: string, params: ControlParameters): LoadOptions {
  for (const key of Object.keys(params)) {
    if (key.startsWith('file:'))
      throw bad(
        `parameter ${quoted(key)} is not supported: Loupe takes no model files over the API; put the version in the model store (LOUPE_MODEL_STORE, or LOUPE_MODEL_URIS) and load it by name`,
      );
    if (key !== 'config') throw bad(`parameter ${quoted(key)} is not supported by load (Loupe takes "config")`);
  }
  const config = params.config;
  if (config === undefined || config === '') return {};
  if (typeof config !== 'string') throw bad('parameter "config" must be a string holding a JSON model config');
  let parsed: unknown;
  try {
    parsed = JSON.parse(config);
  } catch {
    throw bad('parameter "config" is not valid JSON');
  }
  return { batching: batchingFrom(model, parsed) };
}

/** The parameters of an unload: Triton's `unload_dependents` is accepted and ignored (Loupe has no ensembles). */
export function checkUnloadParameters(params: ControlParameters): void {
  for (const key of Object.keys(params))
    if (key !== 'unload_dependents') throw bad(`parameter ${quoted(key)} is not supported by unload`);
}

const SUPPORTED =
  'Loupe can change max_batch_size, dynamic_batching.max_queue_delay_microseconds and dynamic_batching.default_queue_policy.max_queue_size';

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function refuse(field: string): LoupeError {
  return bad(`config override field ${quoted(field)} cannot be honoured: ${SUPPORTED}`);
}

function count(field: string, v: unknown, min: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v; // protobuf JSON writes int64 as strings
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min)
    throw bad(`config override field ${quoted(field)} must be an integer ≥ ${min}`);
  return n;
}

/**
 * A Triton model config → the batching it overrides. Fields that describe the model as it is
 * (name, platform, backend) may be repeated; anything Loupe cannot apply is refused by name
 * rather than silently ignored.
 */
function batchingFrom(model: string, c: unknown): BatchingOverride {
  if (!isObject(c)) throw bad('parameter "config" must hold a JSON object (a Triton model config)');
  const out: { max_batch_size?: number; max_queue_delay_ms?: number; max_queue_size?: number } = {};
  const same: Record<string, string> = { name: model, platform: 'onnxruntime_onnx', backend: 'onnxruntime' };
  for (const [key, value] of Object.entries(c)) {
    if (key in same) {
      if (value !== same[key]) throw bad(`config override field ${quoted(key)} must be ${quoted(same[key])}`);
    } else if (key === 'max_batch_size') {
      out.max_batch_size = count(key, value, 1);
    } else if (key === 'dynamic_batching') {
      Object.assign(out, dynamicBatching(value));
    } else throw refuse(key);
  }
  return out;
}

function dynamicBatching(d: unknown): BatchingOverride {
  if (!isObject(d)) throw bad('config override field "dynamic_batching" must be an object');
  const out: { max_queue_delay_ms?: number; max_queue_size?: number } = {};
  for (const [key, value] of Object.entries(d)) {
    const field = `dynamic_batching.${key}`;
    if (key === 'max_queue_delay_microseconds') out.max_queue_delay_ms = count(field, value, 0) / 1000;
    else if (key === 'default_queue_policy') {
      if (!isObject(value)) throw bad(`config override field ${quoted(field)} must be an object`);
      for (const [k, v] of Object.entries(value)) {
        if (k === 'max_queue_size') out.max_queue_size = count(`${field}.${k}`, v, 1);
        else throw refuse(`${field}.${k}`);
      }
    } else throw refuse(field);
  }
  return out;
}
