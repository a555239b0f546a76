import * as grpc from '@grpc/grpc-js';
import type { UploadCharge } from '../admission/index.ts';
import { ErrorCode, grpcStatusOf, type LoupeError } from '../errors.ts';
import type { LogContext } from '../observability/index.ts';
import type { CallRecord } from './rpcs.ts';
import { toLoupeError } from './status.ts';

/** A message's log line and count, less what its stream adds (the method, the key). */
export type TicketRecord = Omit<CallRecord, 'method' | 'principal'>;

/** What a ticket reports to its stream (StreamEdge). */
export interface TicketOwner {
  answered(ticket: MessageTicket, record: TicketRecord): void;
}

/** Where the edge hangs each message's ticket for the handler. */
export const TICKET = Symbol('loupe.grpc.ticket');

/**
 * One message of a stream, admitted as a ModelInfer call is: its request id (the message's
 * `id` when it is a valid request id, so a client can match an error to its request), its own
 * charge in the upload budget (so the budget's "one upload alone may exceed" is one message,
 * never a stream of them), the refusal it gets instead of running, and one log line and count
 * when it is answered.
 */
export class MessageTicket {
  readonly id: string;
  readonly context: LogContext = {};
  refusal: LoupeError | undefined;
  /** The message's upload bytes, held until it has run. */
  private readonly charge: UploadCharge;
  private readonly started = performance.now();
  private place: (() => void) | undefined;
  private readonly stream: TicketOwner;
  private done = false;

  constructor(stream: TicketOwner, id: string, charge: UploadCharge) {
    this.stream = stream;
    this.id = id;
    this.charge = charge;
  }

  /** Keeps the client's in-flight place until the answer is sent. */
  holdPlace(release: () => void): void {
    this.place = release;
  }

  /** The message has run (or been refused): its request bytes are no longer needed. */
  ran(): void {
    this.charge.release();
  }

  /** The text of a failed message's `error_message`: Loupe's code, its message (5xx masked) and the request id. */
  errorText(err: unknown): string {
    const e = toLoupeError(err);
    this.refusal = e;
    const message = e.code === ErrorCode.Internal ? 'internal error' : e.message;
    return `${e.code}: ${message} (request id ${this.id})`;
  }

  /** Its answer was sent (or the stream ended first, with `code`): gives back what it held, logs and counts it once. */
  answered(code?: grpc.status): void {
    if (this.done) return;
    this.done = true;
    this.ran();
    this.place?.();
    const failure = this.refusal ? { error: this.refusal, original: this.refusal.cause ?? this.refusal } : undefined;
    const status = code ?? (this.refusal ? grpcStatusOf[this.refusal.code] : grpc.status.OK);
    const seconds = (performance.now() - this.started) / 1000;
    this.stream.answered(this, { id: this.id, code: status, seconds, failure, context: this.context });
  }
}
