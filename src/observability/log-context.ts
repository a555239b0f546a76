/**
 * What a request or call was about, for its one log line on either transport: the model and
 * version it ran, the prediction or job it made or read. Set by whoever learns it (a route, an
 * RPC handler); the line is written when the request ends.
 */
export interface LogContext {
  model?: string;
  version?: string;
  prediction_id?: string;
  job_id?: string;
}
