import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Admission } from '../admission/index.ts';
import type { KeyVerifier } from '../auth/index.ts';
import { clientAddress } from '../clients/index.ts';
import { StartupError } from '../errors.ts';
import type { InferenceBackend } from '../inference/index.ts';
import type { Service, ServiceState } from '../lifecycle/index.ts';
import type { Logger, Metrics, Tracing } from '../observability/index.ts';
import type { CallEdge } from './edge.ts';
import type { GrpcOptions } from './options.ts';
import { FirstCallDeadline } from './connections.ts';
import { edgeInterceptor } from './interceptor.ts';
import { inferenceService } from './proto.ts';
import { serviceImplementation } from './service.ts';
import { StreamRegistry } from './stream-registry.ts';

export interface GrpcDeps {
  readonly options: GrpcOptions;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracing?: Tracing | undefined;
  readonly backend: InferenceBackend;
  readonly version: string;
  /** API keys: present, every RPC but the health ones needs one (as on HTTP). */
  readonly auth?: KeyVerifier | undefined;
  /** Shared with the role's HTTP API, so a client has one allowance whichever it calls. */
  readonly admission: Admission;
}

/** Room for the protobuf framing around an upload of LOUPE_MAX_UPLOAD_BYTES. */
const HEADER_ROOM = 64 * 1024;

/**
 * The Open Inference Protocol over gRPC (Triton's `inference.GRPCInferenceService`) on
 * LOUPE_GRPC_PORT, over the role's inference backend. Connections are accepted by a plain TCP
 * server (LOUPE_MAX_CONNECTIONS, as HTTP) and handed to grpc-js. Start and stop are
 * idempotent; stop stops accepting, lets calls in flight finish and, past
 * LOUPE_SHUTDOWN_TIMEOUT_MS, cuts the ones left.
 */
export class GrpcServer implements Service {
  state: ServiceState = 'created';
  private readonly deps: GrpcDeps;
  private readonly server: grpc.Server;
  private readonly tcp: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly firstCall: FirstCallDeadline;
  private readonly streams = new StreamRegistry();
  private idle: (() => void) | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(deps: GrpcDeps) {
    this.deps = deps;
    const { options } = deps;
    const maxMessageBytes = options.maxUploadBytes + HEADER_ROOM;
    const calls = new WeakMap<grpc.Metadata, CallEdge>();
    this.firstCall = new FirstCallDeadline(options.headersTimeoutMs);
    const edge = edgeInterceptor(
      {
        logger: deps.logger,
        metrics: deps.metrics,
        tracing: deps.tracing,
        keys: deps.auth,
        admission: deps.admission,
        requestTimeoutMs: options.requestTimeoutMs,
        addressOf: clientAddress(options.trustProxy),
      },
      calls,
      (connection) => this.firstCall.called(connection),
      this.streams,
    );
    this.server = new grpc.Server({
      interceptors: [edge],
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': -1,
      // Streams in flight per connection; a client that wants more opens another connection.
      // What grpc-js buffers before the edge sees it: a stream is paused until the edge has
      // admitted its call (key, scope, rate, in-flight place), so until then the peer can send
      // at most the HTTP/2 stream window (Node's default 65,535 bytes; grpc-js does not change
      // it; measured on Node 24: a paused stream holds 65,535 bytes, its window is then 0 and
      // the connection's stays open for the other streams) — at most 64 KiB x 128 streams x
      // LOUPE_MAX_CONNECTIONS, and only for the time of a key lookup (those of an address that
      // keeps failing are gated: FailedAuthLimiter); a refused call frees its window. Once
      // admitted, an inference call's bytes are charged to its client as each DATA frame arrives
      // (at most one 16 KiB frame past the budget before it is refused), and other calls are cut
      // at SMALL_MESSAGE_BYTES from the length prefix (capMessage). So uploads in memory stay
      // within LOUPE_MAX_INFLIGHT_UPLOAD_BYTES plus those per-stream windows, never
      // max_receive_message_length x streams x connections.
      'grpc.max_concurrent_streams': 128,
      // Pings find dead peers behind NATs and proxies; an idle connection is closed as HTTP's is.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // A connection without calls is closed after the HTTP keep-alive timeout; one that never
      // starts a call, after the headers timeout (FirstCallDeadline), as HTTP closes one that
      // never sends a request.
      'grpc.max_connection_idle_ms': options.keepAliveTimeoutMs,
    });
    this.server.addService(
      inferenceService(),
      serviceImplementation({ backend: deps.backend, version: deps.version, calls }),
    );
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    // Connections are counted per transport: HTTP and gRPC each accept LOUPE_MAX_CONNECTIONS.
    this.tcp = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        if (this.sockets.size === 0) this.idle?.();
      });
      this.firstCall.accept(socket);
      injector.injectConnection(socket);
    });
    if (options.maxConnections > 0) this.tcp.maxConnections = options.maxConnections;
  }

  /** `host:port` once listening, else ''. */
  get address(): string {
    const a = this.tcp.address();
    if (a === null || typeof a === 'string') return a ?? '';
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  get port(): number {
    const a = this.tcp.address();
    return a !== null && typeof a === 'object' ? a.port : 0;
  }

  start(): Promise<void> {
    this.starting ??= new Promise<void>((resolve, reject) => {
      this.state = 'starting';
      const { host, port } = this.deps.options;
      // One clear line at start (as Triton's 8001 may well be taken on a laptop).
      const fail = (err: NodeJS.ErrnoException) => {
        this.state = 'failed';
        reject(
          new StartupError(
            `gRPC cannot listen on ${host}:${port} (${err.code ?? err.message}); set LOUPE_GRPC_PORT to a free port, or off`,
            { cause: err },
          ),
        );
      };
      this.tcp.once('error', fail);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', fail);
        this.tcp.on('error', (err) => this.deps.logger.warn({ err: err.message }, 'gRPC listener error'));
        this.state = 'running';
        resolve();
      });
    });
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      this.state = 'stopping';
      await this.drain();
      this.state = 'stopped';
    })();
    return this.stopping;
  }

  /** Stop accepting, let calls in flight finish, and cut those left at the deadline. */
  private async drain(): Promise<void> {
    // Stops accepting (its own callback would wait for every connection, idle ones too).
    this.tcp.close();
    // GOAWAY on every connection: calls in flight finish, then each connection closes. With
    // connections handed in by the TCP server, grpc-js's callback does not wait for them, so
    // the wait is for the sockets to close.
    this.server.tryShutdown(() => undefined);
    // A stream would last until the client closes it: each answers what it has read, then ends.
    this.streams.drain();
    const deadline = this.deps.options.shutdownTimeoutMs;
    const drained = await new Promise<boolean>((resolve) => {
      if (this.sockets.size === 0) return resolve(true);
      const timer = setTimeout(() => resolve(false), deadline);
      timer.unref();
      this.idle = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    if (drained) return;
    this.deps.logger.warn({ deadline_ms: deadline }, 'gRPC calls still in flight at the deadline; closing them');
    this.server.forceShutdown();
    for (const socket of this.sockets) socket.destroy();
  }
}
