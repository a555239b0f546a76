import type * as grpc from '@grpc/grpc-js';
import type { LogContext } from '../observability/index.ts';
import type { ModelInferRequest } from './messages.ts';
import { TICKET, type MessageTicket } from './stream-ticket.ts';

/** Runs one admitted ModelInfer request: the same path as the unary RPC. */
export type RunInfer = (req: ModelInferRequest, context: LogContext) => Promise<unknown>;

/**
 * ModelStreamInfer for non-decoupled models, as Triton answers it: one ModelStreamInferResponse
 * per request, sent as each completes (a client matches them by the echoed `id`); a request that
 * fails is answered with `error_message` and the stream goes on. Each message was admitted by the
 * edge (StreamEdge: its ticket); a message keeps its in-flight place until its answer has been
 * written to the client (the write callback), so a client that does not read its answers stops
 * the stream being read, and the server holds at most the stream's bound of answers for it. Once
 * the client has half-closed and every answer is out, the stream ends OK.
 */
export function streamInfer(run: RunInfer): grpc.handleBidiStreamingCall<ModelInferRequest, unknown> {
  return (call) => {
    let open = 0;
    let halfClosed = false;
    const maybeEnd = () => {
      if (halfClosed && open === 0) call.end();
    };
    const answer = (ticket: MessageTicket, res: object) => {
      ticket.ran();
      call.write(res, () => {
        ticket.answered();
        open--;
        maybeEnd();
      });
    };
    call.on('data', (req: ModelInferRequest & { [TICKET]?: MessageTicket }) => {
      const ticket = req[TICKET];
      if (!ticket) return; // only a call that did not pass the edge; the edge has answered it
      open++;
      if (ticket.refusal) return answer(ticket, { error_message: ticket.errorText(ticket.refusal) });
      run(req, ticket.context).then(
        (res) => answer(ticket, { infer_response: res }),
        (err: unknown) => answer(ticket, { error_message: ticket.errorText(err) }),
      );
    });
    call.on('end', () => {
      halfClosed = true;
      maybeEnd();
    });
    // A cancelled or cut stream: the edge has given back what its messages held.
    call.on('error', () => undefined);
  };
}
