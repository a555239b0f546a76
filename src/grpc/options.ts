/** What the gRPC API needs of the configuration, filled by the role (roles/options.ts). */
export interface GrpcOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  /** Bytes of one upload (the message may be a little larger: HEADER_ROOM). */
  readonly maxUploadBytes: number;
  /** A connection that starts no call within it is closed, as HTTP closes one that sends no headers. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** A connection without calls is closed after it. */
  readonly keepAliveTimeoutMs: number;
  /** 0: no cap. */
  readonly maxConnections: number;
  /** Which proxies' X-Forwarded-For to believe: a hop count, true, or addresses/CIDRs ('' none). */
  readonly trustProxy: string;
  /** How long stop() lets calls in flight finish before it cuts them. */
  readonly shutdownTimeoutMs: number;
}
