import * as grpc from '@grpc/grpc-js';
import {
  accessFor,
  authenticate,
  authorize,
  type FailedAuthLimiter,
  type KeyVerifier,
  type Principal,
} from '../auth/index.ts';
import { clientKey, requestIdFrom, type ClientLimits } from '../clients/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { UploadBudget } from '../http/upload-budget.ts';
import type { LogContext, Logger, Metrics } from '../observability/index.ts';
import { MESSAGE_BYTES } from './proto.ts';
import { INFERENCE, ROUTES, recordCall, unsupportedReason } from './rpcs.ts';
import { statusOf, toLoupeError } from './status.ts';

/** A status as grpc-js's sendStatus takes it (its type is not exported). */
type PartialStatus = Parameters<grpc.ServerInterceptingCall['sendStatus']>[0];

/** Longest an inference call waits for room in the upload budget before it is refused (UNAVAILABLE). */
const BUDGET_WAIT_MS = 5000;
/** The largest message of an RPC that uploads nothing: a model's name and version, at most. */
export const SMALL_MESSAGE_BYTES = 64 * 1024;
/** How long such a message may take: a client sends it with the call's headers. */
const SMALL_MESSAGE_MS = 5000;

export interface EdgeDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** API keys; undefined: auth off. */
  readonly keys: KeyVerifier | undefined;
  readonly failures: FailedAuthLimiter;
  /** Per-client limits; undefined on model servers. */
  readonly limits: ClientLimits | undefined;
  readonly budget: UploadBudget;
  /** The largest request message (grpc.max_receive_message_length). */
  readonly maxMessageBytes: number;
  readonly retryAfterS: number;
  /** LOUPE_REQUEST_TIMEOUT_MS: how long an admitted call's message may take to arrive (0: no limit). */
  readonly requestTimeoutMs: number;
  readonly addressOf: (peer: string, forwardedFor: string | undefined) => string;
}

/**
 * What happens to every call around its handler, as the HTTP app's hooks do for a request:
 * a request id, the API key and its scope, the client's rate and in-flight limits, room in
 * the upload budget for an inference call, then one log line and the metrics when it ends.
 * All of it runs on the call's metadata, before a byte of its message is read.
 */
export class CallEdge {
  readonly id: string;
  readonly method: string;
  /** Whether its message may be an upload (held from the budget), not a name or two. */
  readonly uploads: boolean;
  principal: Principal | undefined;
  /** Model and version the handler ran, for the call's log line. */
  readonly context: LogContext = {};
  private readonly deps: EdgeDeps;
  private readonly started = performance.now();
  private failure: { error: LoupeError; original: unknown } | undefined;
  private held = 0;
  private readonly releases: Array<() => void> = [];
  private readonly stop = new AbortController();
  private got = false;
  private late: NodeJS.Timeout | undefined;

  constructor(deps: EdgeDeps, method: string, metadata: grpc.Metadata) {
    this.deps = deps;
    this.method = method;
    this.uploads = INFERENCE.has(method);
    this.id = requestIdFrom(first(metadata, 'x-request-id'));
  }

  get served(): boolean {
    return this.method in ROUTES;
  }

  /** Whether the call has ended (answered, cancelled or past its deadline). */
  get ended(): boolean {
    return this.stop.signal.aborted;
  }

  /**
   * Lets the call in, or throws the LoupeError it is refused with. The order matters: only a
   * call that is authenticated, authorized, within its client's rate and holding one of its
   * client's in-flight places waits for (and holds) room in the upload budget, so no one
   * without a key, and no key beyond its in-flight share, can hold the budget. A call that
   * ends meanwhile stops there and keeps nothing.
   */
  async admit(metadata: grpc.Metadata, peer: string): Promise<void> {
    const { keys, failures, limits } = this.deps;
    const [verb, route] = ROUTES[this.method]!;
    const access = accessFor(verb, route);
    if (access === 'open') return;
    const address = this.deps.addressOf(peer, first(metadata, 'x-forwarded-for'));
    if (keys) {
      const presented = {
        address,
        authorization: first(metadata, 'authorization'),
        apiKey: first(metadata, 'x-api-key'),
      };
      this.principal = await authenticate(keys, failures, presented);
      if (this.ended) return;
      authorize(this.principal, access, `call ${this.method}`);
    }
    const client = clientKey(this.principal?.keyId, address);
    limits?.count(client);
    if (!this.uploads) return;
    if (limits) this.hold(limits.enter(client));
    await this.reserve();
  }

  /**
   * gRPC has no Content-Length to reserve before reading: an inference call reserves the
   * largest message it may receive, waiting (up to BUDGET_WAIT_MS, in line) for room, and keeps
   * only what its message turned out to be once it is in (`received`). So HTTP and gRPC
   * uploads together stay within LOUPE_MAX_INFLIGHT_UPLOAD_BYTES.
   */
  private async reserve(): Promise<void> {
    const { budget, maxMessageBytes } = this.deps;
    const reserved = await budget.reserveWithin(maxMessageBytes, BUDGET_WAIT_MS, this.stop.signal);
    if (this.ended) {
      if (reserved) budget.release(maxMessageBytes);
      return;
    }
    if (!reserved)
      throw new LoupeError(ErrorCode.Overloaded, 'the uploads in flight hold the whole upload budget; try again', {
        retryAfterS: this.deps.retryAfterS,
      });
    this.held = maxMessageBytes;
  }

  /** Keeps a release for the call's end; a call already ended gives it back at once. */
  private hold(release: () => void): void {
    if (this.ended) release();
    else this.releases.push(release);
  }

  /**
   * Calls `onLate` with a DEADLINE_EXCEEDED status when the message has not arrived in time,
   * as HTTP refuses a body dribbled forever: an inference call within LOUPE_REQUEST_TIMEOUT_MS
   * (it holds its share of the upload budget), any other within SMALL_MESSAGE_MS (or the
   * request timeout, when shorter). Call it before the message can arrive; once it is in, this
   * does nothing.
   */
  awaitMessage(onLate: (status: grpc.StatusObject) => void): void {
    const request = this.deps.requestTimeoutMs;
    const ms = this.uploads ? request : request > 0 ? Math.min(request, SMALL_MESSAGE_MS) : SMALL_MESSAGE_MS;
    if (ms <= 0 || this.got || this.ended) return;
    const error = new LoupeError(ErrorCode.RequestTimeout, `the request message did not arrive within ${ms} ms`);
    this.late = setTimeout(() => onLate(this.fail(error)), ms);
    this.late.unref();
  }

  received(message: unknown): void {
    this.got = true;
    clearTimeout(this.late);
    const size = (message as { [MESSAGE_BYTES]?: number })[MESSAGE_BYTES] ?? 0;
    if (this.held > size) {
      this.deps.budget.release(this.held - size);
      this.held = size;
    }
  }

  /** The status a failure is answered with; the original is kept for the log line. */
  fail(err: unknown): grpc.StatusObject {
    const error = toLoupeError(err);
    this.failure = { error, original: err };
    return statusOf(error, this.id);
  }

  unimplemented(): grpc.StatusObject {
    const details = `${this.method} is not supported: ${unsupportedReason(this.method)} (request id ${this.id})`;
    return { code: grpc.status.UNIMPLEMENTED, details, metadata: new grpc.Metadata() };
  }

  /** When the call ends, however it ends: gives back what it held, logs it once, counts it. */
  finish(status: PartialStatus): PartialStatus {
    if (this.ended) return status;
    this.stop.abort();
    clearTimeout(this.late);
    this.deps.budget.release(this.held);
    this.held = 0;
    for (const release of this.releases.splice(0)) release();
    const metadata = status.metadata ?? new grpc.Metadata();
    metadata.set('x-request-id', this.id);
    const { id, method, principal, failure, context } = this;
    const seconds = (performance.now() - this.started) / 1000;
    const record = { id, method, code: status.code, seconds, principal, failure, context };
    recordCall(this.deps.logger, this.deps.metrics, record);
    return { ...status, metadata };
  }
}

/** A metadata value as a string (gRPC metadata may also carry binary values). */
export function first(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}
