/**
 * What the HTTP API needs of the configuration, filled by the role (roles/options.ts): the
 * API's own limits and its connection rules, nothing else of the environment.
 */
export interface HttpOptions {
  /**
   * LOUPE_DEFAULT_MODEL, for the API's documentation (examples "Try it out" sends) and the
   * `default` flag of GET /models; which model answers is the backend's rule.
   */
  readonly defaultModel: string;
  /** Bytes of one image: a /predict upload, one file of a job, an OIP request body. */
  readonly maxUploadBytes: number;
  /** Pixels of one decoded image; the backend enforces it, /predict's docs name it. */
  readonly maxPixels: number;
  readonly jobs: {
    /** Images one POST /jobs may carry. */
    readonly maxImages: number;
    /** Bytes of one whole POST /jobs body. */
    readonly maxBytes: number;
  };
  readonly connections: HttpConnectionOptions;
}

/** Node's server limits for slow and idle clients (server-options.ts); 0 turns a limit off. */
export interface HttpConnectionOptions {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
  /** Which proxies' X-Forwarded-For to believe: a hop count, true, or addresses/CIDRs ('' none). */
  readonly trustProxy: string;
}
