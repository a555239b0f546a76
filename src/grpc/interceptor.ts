import * as grpc from '@grpc/grpc-js';
import { CallEdge, SMALL_MESSAGE_BYTES, type EdgeDeps } from './edge.ts';
import { ErrorCode, LoupeError } from '../errors.ts';
import { libraryRefusal, onLibraryStatus } from './library-status.ts';
import { capMessage } from './message-cap.ts';
import { MALFORMED } from './proto.ts';
import { unimplemented } from './rpcs.ts';
import { statusOf } from './status.ts';
import { onStreamBytes } from './stream-bytes.ts';
import { StreamEdge } from './stream-edge.ts';
import { StreamRegistry } from './stream-registry.ts';

/** Where a call came from (grpc-js does not export the type). */
export type ConnectionInfo = ReturnType<grpc.ServerInterceptingCallInterface['getConnectionInfo']>;

/**
 * The edge as a grpc-js server interceptor. The handler sees the call's metadata only once
 * `admit` has let it in, and only then does grpc-js start reading its message; a refused call
 * is answered from here and its message is never read. A call that uploads nothing reads a
 * message of at most SMALL_MESSAGE_BYTES: it holds nothing from the upload budget. An
 * inference call's bytes are charged as its DATA frames arrive, under the upload rate floor.
 * `onCall` hears of every call that reaches the edge (the connection it came on is in use);
 * `streams` holds the streams in progress (ModelStreamInfer), for the server to drain.
 */
export function edgeInterceptor(
  deps: EdgeDeps,
  calls: WeakMap<grpc.Metadata, CallEdge>,
  onCall: (connection: ConnectionInfo) => void = () => undefined,
  streams: StreamRegistry = new StreamRegistry(),
): grpc.ServerInterceptor {
  // Each grpc-js internal the edge relies on is a property of the library, not of a call: when
  // one is missing, say so once, not on every call.
  const warned = new Set<string>();
  const warnOnce = (what: string) => {
    if (warned.has(what)) return;
    warned.add(what);
    deps.logger.warn(`gRPC: cannot ${what} (grpc-js changed?)`);
  };
  return (descriptor, call) => {
    const method = descriptor.path.slice(descriptor.path.lastIndexOf('/') + 1);
    let edge: CallEdge | undefined;
    let stream: StreamEdge | undefined;
    // What grpc-js answers by itself goes through the edge too; what the edge answered has ended it.
    const adopted = onLibraryStatus(call, (status) => {
      if (!edge || edge.ended) return status;
      const refusal = libraryRefusal(status);
      return edge.finish(refusal ? edge.fail(refusal) : status);
    });
    const self: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const e = (edge = new CallEdge(deps, method, metadata));
            onCall(call.getConnectionInfo());
            if (!adopted) warnOnce('see grpc-js’s own statuses');
            if (!e.uploads && !capMessage(call, SMALL_MESSAGE_BYTES)) warnOnce('cap the message size of small calls');
            if (!e.served) return self.sendStatus(unimplemented(method, e.id));
            calls.set(metadata, e);
            e.admit(metadata, call.getConnectionInfo().remoteAddress ?? '').then(
              () => {
                if (e.ended) return;
                // Armed first: grpc-js may deliver the message within `pass`.
                const end = (status: grpc.StatusObject | undefined) => status && !e.ended && self.sendStatus(status);
                if (e.streaming) {
                  const s = (stream = new StreamEdge(e, deps, end, streams));
                  if (e.ended) return; // admitted while the server drains: ended at once
                  if (!onStreamBytes(call, (n) => s.arrived(n))) warnOnce('see a call’s bytes arrive');
                  return pass(metadata);
                }
                e.timeMessage(end);
                if (e.uploads && !onStreamBytes(call, (n) => end(e.arrived(n)))) warnOnce('see a call’s bytes arrive');
                pass(metadata);
              },
              (err: unknown) => !e.ended && self.sendStatus(e.fail(err)),
            );
          },
          onReceiveMessage: (message, pass) => {
            // grpc-js may still hand on a message decoded from the frame the edge ended the call
            // on (its cancel notice waits for the trailers once answers went out): what the call
            // held is given back already, so it must not run or take a place.
            if (edge?.ended) return;
            // A stream's message is admitted on its own; a refusal is its answer, not the stream's end.
            if (stream) return pass(stream.received(message as object));
            const refused = edge?.received(message);
            if (refused) return self.sendStatus(refused);
            const malformed = (message as { [MALFORMED]?: string })[MALFORMED];
            if (malformed === undefined) return pass(message);
            const refusal = new LoupeError(ErrorCode.BadRequest, malformed);
            self.sendStatus(edge ? edge.fail(refusal) : statusOf(refusal, ''));
          },
          onCancel: () => {
            const late = Number(call.getDeadline()) <= Date.now();
            edge?.finish({ code: late ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED, details: '' });
          },
        }),
      sendMetadata: (metadata, next) => {
        if (edge) metadata.set('x-request-id', edge.id);
        next(metadata);
      },
      sendStatus: (status, next) => next(edge ? edge.finish(status) : status),
    });
    // The handler asks for each next message; a stream with its bound of messages in flight is
    // not read (grpc-js keeps its HTTP/2 stream paused) until one is answered.
    const startRead = self.startRead.bind(self);
    self.startRead = () => (stream ? stream.read(startRead) : startRead());
    return self;
  };
}
