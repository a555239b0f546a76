import * as grpc from '@grpc/grpc-js';
import { clientKey, type Admission, type UploadCharge } from '../admission/index.ts';
import { accessFor, authenticate, authorize, type KeyVerifier, type Principal } from '../auth/index.ts';
import { requestIdFrom } from '../clients/index.ts';
import type { LoupeError } from '../errors.ts';
import {
  NOOP_TRACING,
  type LogContext,
  type Logger,
  type Metrics,
  type TraceSpan,
  type Tracing,
} from '../observability/index.ts';
import { endCallSpan, startCallSpan } from './call-span.ts';
import { MessageClock, messageDeadlineMs } from './message-clock.ts';
import { MESSAGE_BYTES } from './proto.ts';
import { INFERENCE, ROUTES, STREAMS, recordCall } from './rpcs.ts';
import { statusOf, toLoupeError } from './status.ts';

/** A status as grpc-js's sendStatus takes it (its type is not exported). */
type PartialStatus = Parameters<grpc.ServerInterceptingCall['sendStatus']>[0];

/** The largest message of an RPC that uploads nothing: a model's name and version, at most. */
export const SMALL_MESSAGE_BYTES = 64 * 1024;

export interface EdgeDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** OTEL_* tracing: a server span per call, under the metadata's traceparent. */
  readonly tracing?: Tracing | undefined;
  /** API keys; undefined: auth off. */
  readonly keys: KeyVerifier | undefined;
  /** The role's admission rules, shared with its HTTP API. */
  readonly admission: Admission;
  /** LOUPE_REQUEST_TIMEOUT_MS: how long an admitted call's message may take to arrive (0: no limit). */
  readonly requestTimeoutMs: number;
  readonly addressOf: (peer: string, forwardedFor: string | undefined) => string;
}

/**
 * What happens to every call around its handler, as the HTTP app's hooks do for a request:
 * a request id, the API key and its scope, the client's rate and in-flight limits on the
 * call's metadata, before a byte of its message is read; then, for an inference call, its
 * bytes charged to its client's share of the upload budget as they arrive and the minimum data
 * rate; one log line and the metrics when it ends.
 */
export class CallEdge {
  readonly id: string;
  readonly method: string;
  /** Whether its message may be an upload (held from the budget), not a name or two. */
  readonly uploads: boolean;
  /** Whether its requests are a stream of messages, each admitted on its own (StreamEdge). */
  readonly streaming: boolean;
  principal: Principal | undefined;
  /** Model and version the handler ran, for the call's log line. */
  readonly context: LogContext = {};
  private readonly deps: EdgeDeps;
  private readonly started = performance.now();
  private failure: { error: LoupeError; original: unknown } | undefined;
  private charge: UploadCharge | undefined;
  /** Who the call counts against, once admitted (a stream's messages too: StreamEdge). */
  client: string | undefined;
  private readonly clock: MessageClock;
  private bytes = 0;
  private readonly releases: Array<() => void> = [];
  private readonly stop = new AbortController();
  private got = false;
  /** The call's server span (tracing on), or what its `traceparent` names (off): its log line's trace id. */
  readonly span: TraceSpan;
  private receiving: TraceSpan | undefined;

  constructor(deps: EdgeDeps, method: string, metadata: grpc.Metadata) {
    this.deps = deps;
    this.method = method;
    this.uploads = INFERENCE.has(method);
    this.streaming = STREAMS.has(method);
    this.id = requestIdFrom(first(metadata, 'x-request-id'));
    const carrier = { traceparent: first(metadata, 'traceparent'), tracestate: first(metadata, 'tracestate') };
    this.span = startCallSpan(deps.tracing ?? NOOP_TRACING, method, this.id, carrier);
    this.clock = new MessageClock(deps.admission.rateFloor);
  }

  /** Runs the handler with the call's span active: the backend's spans and calls are its children. */
  within<T>(fn: () => T): T {
    return (this.deps.tracing ?? NOOP_TRACING).within(this.span, fn);
  }

  get served(): boolean {
    return this.method in ROUTES;
  }

  /** Whether the call has ended (answered, cancelled or past its deadline). */
  get ended(): boolean {
    return this.stop.signal.aborted;
  }

  /**
   * Lets the call in, or throws the LoupeError it is refused with. Only a call that is
   * authenticated, authorized, within its client's rate and holding one of its client's
   * in-flight places is read at all, and nothing is charged for bytes not yet received: a
   * stream that sends its headers and no message holds no upload budget. A call that ends
   * meanwhile stops there and keeps nothing.
   */
  async admit(metadata: grpc.Metadata, peer: string): Promise<void> {
    const { keys, admission } = this.deps;
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
      this.principal = await authenticate(keys, admission.failures, presented);
      if (this.ended) return;
      authorize(this.principal, access, `call ${this.method}`);
    }
    const client = clientKey(this.principal?.keyId, address);
    this.client = client;
    const limits = admission.clientLimits;
    // Opening a stream counts against the rate as a request does (each open costs a key check
    // and a StreamEdge, so opening and closing streams is not free); its messages then count
    // again, each, and each takes its own in-flight place (StreamEdge), as each is a request.
    limits?.count(client);
    // A stream's messages are each their own upload, charged by StreamEdge (and received one by
    // one for as long as it lasts: the stream has no loupe.receive span of its own).
    if (!this.uploads || this.streaming) return;
    if (limits) this.onEnd(limits.enter(client));
    const charge = admission.budget.open(client);
    this.charge = charge;
    this.onEnd(() => charge.release());
    if (this.deps.tracing?.enabled) this.receiving = this.deps.tracing.start('loupe.receive', { parent: this.span });
  }

  /** Keeps a release for the call's end (what it and a stream's messages hold); a call already ended gives it back at once. */
  onEnd(release: () => void): void {
    if (this.ended) release();
    else this.releases.push(release);
  }

  /**
   * Times the message, as HTTP times a body: `onFail` gets a DEADLINE_EXCEEDED status when it is
   * not whole in time (an upload within LOUPE_REQUEST_TIMEOUT_MS, as it holds its share of the
   * budget; another within a few seconds: messageDeadlineMs) or, for an upload, when its bytes
   * fall below the rate floor (what the call held is then given back at once). Call it once
   * admitted, before the message can arrive; once it is in, this does nothing.
   */
  timeMessage(onFail: (status: grpc.StatusObject) => void): void {
    if (this.got || this.ended) return;
    const ms = messageDeadlineMs(this.uploads, this.deps.requestTimeoutMs);
    this.clock.within(ms, 'the request message', (err) => onFail(this.fail(err)));
    if (!this.uploads) return;
    this.clock.aboveFloor((err) => {
      this.charge?.release();
      onFail(this.fail(err));
    });
  }

  /**
   * Bytes of the message as they arrive off the wire (HTTP/2 DATA frames, before grpc-js has
   * the whole message): charged to the client and counted for the rate floor. The status the
   * call is refused with when its client's share (RESOURCE_EXHAUSTED) or the budget
   * (UNAVAILABLE) has no room, else undefined.
   */
  arrived(bytes: number): grpc.StatusObject | undefined {
    if (this.ended || !this.charge) return undefined;
    this.bytes += bytes;
    this.clock.arrived(bytes);
    const refused = this.charge.growTo(this.bytes);
    return refused ? this.fail(refused) : undefined;
  }

  /**
   * The whole message is in: it is charged its decoded size (its frames were charged as they
   * arrived, and a compressed message decodes to more); the status it is refused with, else
   * undefined.
   */
  received(message: unknown): grpc.StatusObject | undefined {
    this.got = true;
    this.clock.stop();
    const size = (message as { [MESSAGE_BYTES]?: number })[MESSAGE_BYTES] ?? 0;
    this.receiving?.set({ 'rpc.message.uncompressed_size': size });
    this.receiving?.end();
    this.receiving = undefined;
    if (this.ended || !this.charge) return undefined;
    // A compressed message decodes to more than its frames carried: the decoded size is what
    // it holds in memory, so that is what counts (growTo never shrinks a charge).
    const refused = this.charge.growTo(Math.max(this.bytes, size));
    return refused ? this.fail(refused) : undefined;
  }

  /** The status a failure is answered with; the original is kept for the log line. */
  fail(err: unknown): grpc.StatusObject {
    const error = toLoupeError(err);
    this.failure = { error, original: err };
    return statusOf(error, this.id);
  }

  /** When the call ends, however it ends: gives back what it held, logs it once, counts it. */
  finish(status: PartialStatus): PartialStatus {
    if (this.ended) return status;
    this.stop.abort();
    this.clock.stop();
    for (const release of this.releases.splice(0)) release();
    const metadata = status.metadata ?? new grpc.Metadata();
    metadata.set('x-request-id', this.id);
    const { id, method, principal, failure, context } = this;
    const seconds = (performance.now() - this.started) / 1000;
    const record = { id, method, code: status.code, seconds, principal, failure, context, span: this.span };
    // A stream's messages are each logged and counted as a call; the stream itself only when it
    // fails as a whole (refused, cut, cancelled), else it would count as one request more.
    if (this.streaming && status.code === grpc.status.OK)
      this.deps.logger.debug({ reqId: id, rpc: method }, 'gRPC stream ended');
    else recordCall(this.deps.logger, this.deps.metrics, record);
    endCallSpan(this.span, this.receiving, status.code, failure);
    return { ...status, metadata };
  }
}

/** A metadata value as a string (gRPC metadata may also carry binary values). */
export function first(metadata: grpc.Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}
