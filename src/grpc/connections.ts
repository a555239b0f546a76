import type net from 'node:net';
import type { ConnectionInfo } from './interceptor.ts';

/**
 * A new gRPC connection must start its first call within `ms` (LOUPE_HEADERS_TIMEOUT_MS), as
 * an HTTP connection must send its first request's headers in that time, or it is closed. It
 * covers what grpc-js leaves open for minutes: a connection that never sends the HTTP/2
 * preface, one that sends the preface (and settings) but no stream, and one whose streams
 * never reach a known RPC. It is seen at the TCP level, where the server hands sockets to
 * grpc-js; calls are matched to their socket by the peer's address and port.
 */
export class FirstCallDeadline {
  private readonly ms: number;
  private readonly waiting = new Map<string, { socket: net.Socket; timer: NodeJS.Timeout }>();

  constructor(ms: number) {
    this.ms = ms;
  }

  accept(socket: net.Socket): void {
    if (this.ms <= 0) return;
    const key = keyOf(socket.remoteAddress, socket.remotePort);
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      socket.destroy();
    }, this.ms);
    timer.unref();
    this.waiting.set(key, { socket, timer });
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.waiting.get(key)?.socket === socket) this.waiting.delete(key);
    });
  }

  /** A call arrived on the connection: it has done what it must; keep-alive rules from now on. */
  called(connection: ConnectionInfo): void {
    if (this.waiting.size === 0) return;
    const key = keyOf(connection.remoteAddress, connection.remotePort);
    const entry = this.waiting.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.waiting.delete(key);
  }

  /** Connections still waiting for their first call. */
  get pending(): number {
    return this.waiting.size;
  }
}

const keyOf = (address: string | undefined, port: number | undefined) => `${address ?? ''}|${port ?? ''}`;
