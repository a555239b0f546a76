import * as grpc from '@grpc/grpc-js';
import type { UploadCharge } from '../admission/index.ts';
import { requestIdFrom } from '../clients/index.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import type { CallEdge, EdgeDeps } from './edge.ts';
import { MessageClock } from './message-clock.ts';
import type { StreamRegistry } from './stream-registry.ts';
import { MALFORMED, MESSAGE_BYTES } from './proto.ts';
import { recordCall } from './rpcs.ts';
import { toLoupeError } from './status.ts';
import { MessageTicket, TICKET, type TicketOwner, type TicketRecord } from './stream-ticket.ts';

/**
 * Messages of one stream read and not yet answered, at most: past it the stream is not read
 * (HTTP/2 flow control holds the client) until one is answered. Lower when the client's own
 * in-flight cap is lower, so one stream backs off rather than refusing its own messages.
 */
export const STREAM_IN_FLIGHT = 8;

/**
 * The per-message admission of one admitted stream (ModelStreamInfer), with the same objects
 * a ModelInfer call is admitted by (src/admission): each message counts against its client's
 * rate and takes one of its in-flight places; each message is its own upload, charged to the
 * client's share of the upload budget as its bytes arrive and held until it has run;
 * a message once begun must arrive within the request timeout and above the rate floor.
 * Refusals of one message are that message's answer (`error_message`); what can only be
 * stopped by ending the stream (bytes over the budget, a message dribbled) ends it.
 */
export class StreamEdge implements TicketOwner {
  private readonly call: CallEdge;
  private readonly deps: EdgeDeps;
  private readonly client: string;
  /** The charge of the message partly received (the next one's first bytes), if any. */
  private partial: UploadCharge | undefined;
  private readonly cut: (status: grpc.StatusObject) => void;
  private readonly open = new Set<MessageTicket>();
  private readonly bound: number;
  private arrivedBytes = 0;
  /** arrivedBytes when the last message was whole: what came since is the next message's. */
  private mark = 0;
  private seq = 0;
  /** The clocks of the message partly received (running from its first bytes). */
  private readonly clock: MessageClock;
  private pendingRead: (() => void) | undefined;
  private draining = false;

  /**
   * `registry`: the server's streams in progress, which it drains when it stops; a stream
   * admitted once the drain has begun is drained (ended) here at once.
   */
  constructor(call: CallEdge, deps: EdgeDeps, cut: (status: grpc.StatusObject) => void, registry: StreamRegistry) {
    this.call = call;
    this.deps = deps;
    this.client = call.client!;
    this.cut = cut;
    this.clock = new MessageClock(deps.admission.rateFloor);
    const cap = deps.admission.clientLimits?.maxInFlight ?? 0;
    this.bound = cap > 0 ? Math.min(cap, STREAM_IN_FLIGHT) : STREAM_IN_FLIGHT;
    call.onEnd(() => this.end());
    registry.add(this);
    call.onEnd(() => registry.delete(this));
  }

  /** The handler asks for the next message: read now, or once an answer frees a place. */
  read(next: () => void): void {
    if (this.call.ended || this.draining) return;
    if (this.open.size < this.bound) this.forward(next);
    else this.pendingRead = next;
  }

  /**
   * The server is shutting down: no message more is read; once those read are answered the
   * stream ends UNAVAILABLE, so the client opens a new one (on another replica) rather than
   * being cut at the shutdown deadline with answers lost.
   */
  drain(): void {
    this.draining = true;
    this.pendingRead = undefined;
    // A message partly received will not be read to its end: no clock may cut the stream for it.
    this.clock.stop();
    this.closeIfDrained();
  }

  private closeIfDrained(): void {
    if (!this.draining || this.open.size > 0 || this.call.ended) return;
    const error = new LoupeError(ErrorCode.NotReady, 'the server is shutting down; open a new stream', {
      retryAfterS: 1,
    });
    this.cut(this.call.fail(error));
  }

  /**
   * Reads on. The next message's clocks run only while the stream is read: when its first bytes
   * came with the end of the previous one, from now; else from its first bytes (`arrived`).
   */
  private forward(next: () => void): void {
    if (!this.clock.running && this.arrivedBytes > this.mark) this.begin();
    next();
  }

  /** Bytes off the wire (DATA frames): charged at once; the first of a message starts its clocks. */
  arrived(n: number): void {
    if (this.call.ended) return;
    this.arrivedBytes += n;
    if (!this.clock.running && !this.draining) this.begin();
    this.clock.arrived(n);
    this.partial ??= this.deps.admission.budget.open(this.client);
    const refused = this.partial.growTo(this.arrivedBytes - this.mark);
    if (refused) this.cut(this.call.fail(refused));
  }

  /** A whole message: admitted as a ModelInfer call is, its ticket hung on it for the handler. */
  received<M extends object>(message: M): M {
    // Ended (grpc-js may hand on a message decoded from the frame the stream was ended on): it
    // gets no ticket, so it is neither run nor holds a place; the handler drops it.
    if (this.call.ended) return message;
    const size = (message as { [MESSAGE_BYTES]?: number })[MESSAGE_BYTES] ?? 0;
    // Its bytes on the wire: its 5-byte prefix and body (a frame may also carry the start of the
    // next message, which stays partial); a compressed one's are fewer, so this is at most over.
    const wire = Math.min(this.arrivedBytes - this.mark, size + 5);
    this.mark += wire;
    this.clock.stop();
    // The message's charge is what has arrived of it; what came after it is the next one's.
    const charge = this.partial ?? this.deps.admission.budget.open(this.client);
    charge.shrinkTo(wire);
    this.partial = undefined;
    const next = this.arrivedBytes - this.mark;
    if (next > 0) {
      this.partial = this.deps.admission.budget.open(this.client);
      const refused = this.partial.growTo(next);
      if (refused) {
        charge.release();
        this.cut(this.call.fail(refused));
        return message;
      }
    }
    const given = (message as { id?: unknown }).id;
    const id = given ? requestIdFrom(given) : `${this.call.id}-${++this.seq}`;
    const ticket = new MessageTicket(this, id, charge);
    Object.defineProperty(message, TICKET, { value: ticket });
    this.open.add(ticket);
    // A compressed message decodes to more than its frames carried: the decoded size counts.
    ticket.refusal = this.admit(message, ticket, charge.growTo(Math.max(wire, size)));
    return message;
  }

  private admit(message: object, ticket: MessageTicket, budget: LoupeError | undefined): LoupeError | undefined {
    const malformed = (message as { [MALFORMED]?: string })[MALFORMED];
    if (malformed !== undefined) return new LoupeError(ErrorCode.BadRequest, malformed);
    if (budget) return budget;
    const limits = this.deps.admission.clientLimits;
    if (!limits) return undefined;
    try {
      limits.count(this.client);
      ticket.holdPlace(limits.enter(this.client));
      return undefined;
    } catch (err) {
      return toLoupeError(err);
    }
  }

  answered(ticket: MessageTicket, record: TicketRecord): void {
    this.open.delete(ticket);
    recordCall(this.deps.logger, this.deps.metrics, {
      ...record,
      method: this.call.method,
      principal: this.call.principal,
      // The stream's span: each message's log line carries its trace id, as a call's does.
      span: this.call.span,
    });
    this.closeIfDrained();
    const next = this.pendingRead;
    if (next && this.open.size < this.bound && !this.call.ended) {
      this.pendingRead = undefined;
      this.forward(next);
    }
  }

  private begin(): void {
    const fail = (err: LoupeError) => this.cut(this.call.fail(err));
    this.clock.aboveFloor(fail);
    this.clock.within(this.deps.requestTimeoutMs, 'a request message of the stream', fail);
  }

  /** The stream ended: messages not answered are logged with its code and give back what they held. */
  private end(): void {
    this.clock.stop();
    this.pendingRead = undefined;
    this.partial?.release();
    for (const ticket of [...this.open]) ticket.answered(grpc.status.CANCELLED);
  }
}
