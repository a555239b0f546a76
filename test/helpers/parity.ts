import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { grpcStatusOf, httpStatusOf, logLevelOf, type ErrorCode, type Refusal } from '../../src/errors.ts';
import { createLogger, type Logger } from '../../src/observability/index.ts';
import { codeName } from '../../src/grpc/status.ts';
import type { TestGrpcClient } from './grpc.ts';
import { scrape, sum, type Sample } from './metrics.ts';
import type { TestServer } from './server.ts';

/** A JSON log line as a parity test reads it. */
export interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  code?: string;
  error?: string;
  grpc_code?: string;
  status?: number;
}

/** A logger at info that keeps every line it writes, for tests that assert one line per call. */
export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: createLogger('info', { destination: dest }), lines };
}

/** pino's level numbers by name. */
export const LEVELS: Readonly<Record<number, string>> = { 20: 'debug', 30: 'info', 40: 'warn', 50: 'error' };

/** What one call over either transport came back with, in the terms both share. */
export interface Outcome {
  /** Loupe's error code (header / trailer `x-loupe-error-code`); undefined on success. */
  readonly code: string | undefined;
  /** HTTP status, or gRPC status number. */
  readonly status: number;
  /** The error's message (HTTP body; gRPC details less its " (request id …)" suffix). */
  readonly message: string | undefined;
  readonly requestId: string | undefined;
  /** gRPC only: the request id as the details quote it. */
  readonly detailsId?: string | undefined;
  /** Retry-After (HTTP header, gRPC trailer), in seconds. */
  readonly retryAfter: string | undefined;
}

/** Sends one HTTP request; its body's `error` (OIP: a string; Loupe's routes: an object) is the message. */
export async function httpOutcome(url: string, init: RequestInit): Promise<Outcome> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: string | { message: string } };
    message = typeof body.error === 'string' ? body.error : body.error?.message;
  } catch {
    message = undefined;
  }
  return {
    code: res.headers.get('x-loupe-error-code') ?? undefined,
    status: res.status,
    message: res.ok ? undefined : message,
    requestId: res.headers.get('x-request-id') ?? undefined,
    retryAfter: res.headers.get('retry-after') ?? undefined,
  };
}

/** Splits gRPC details into Loupe's message and the request id they quote. */
export function splitDetails(details: string | undefined): { message: string | undefined; id: string | undefined } {
  const m = /^([\s\S]*) \(request id ([^)]*)\)$/.exec(details ?? '');
  return m ? { message: m[1], id: m[2] } : { message: details, id: undefined };
}

/** Calls one unary RPC with a test client. */
export async function grpcOutcome(
  client: TestGrpcClient,
  method: string,
  request: object,
  metadata: Record<string, string>,
): Promise<Outcome> {
  const r = await client.call(method, request, metadata);
  return fromStatus(r.error, r.trailers);
}

export function fromStatus(error: grpc.ServiceError | undefined, trailers: grpc.Metadata | undefined): Outcome {
  const { message, id } = splitDetails(error?.details);
  const code = trailers?.get('x-loupe-error-code')[0];
  const rid = trailers?.get('x-request-id')[0];
  const retry = trailers?.get('retry-after')[0];
  return {
    code: typeof code === 'string' ? code : undefined,
    status: error ? error.code : grpc.status.OK,
    message: error ? message : undefined,
    requestId: typeof rid === 'string' ? rid : undefined,
    detailsId: id,
    retryAfter: typeof retry === 'string' ? retry : undefined,
  };
}

/**
 * Calls a unary RPC whose request is the given bytes as they are (a message that is not the
 * protobuf it claims to be): a client built without the .proto, as a fuzzer would send it.
 */
export function rawGrpcOutcome(
  address: string,
  method: string,
  bytes: Buffer,
  metadata: Record<string, string>,
): Promise<Outcome> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    let trailers: grpc.Metadata | undefined;
    let error: grpc.ServiceError | undefined;
    let done = 0;
    const finish = () => {
      if (++done < 2) return;
      client.close();
      resolve(fromStatus(error, trailers));
    };
    const call = client.makeUnaryRequest(
      `/inference.GRPCInferenceService/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      md,
      { deadline: Date.now() + 20_000 },
      (err) => {
        error = err ?? undefined;
        finish();
      },
    );
    call.on('status', (s: grpc.StatusObject) => {
      trailers = s.metadata;
      finish();
    });
  });
}

/** Requests counted so far by the HTTP and gRPC counters, for one route or RPC and status. */
export async function counted(
  srv: TestServer,
  http: { route: string; status: number } | undefined,
  rpc: { method: string; code: number } | undefined,
): Promise<{ http: number; grpc: number }> {
  const m = srv.role.metrics;
  const h = (await m.httpRequests.get()).values.filter(
    (v) => http && v.labels.route === http.route && v.labels.status === String(http.status),
  );
  const g = (await m.grpcRequests.get()).values.filter(
    (v) => rpc && v.labels.method === rpc.method && v.labels.code === codeName(rpc.code),
  );
  const sum = (vs: Array<{ value: number }>) => vs.reduce((a, v) => a + v.value, 0);
  return { http: sum(h), grpc: sum(g) };
}

/** The parity assertions over one server and its captured log lines. */
export interface Parity {
  /** The log lines of one request id, once its line is written (the HTTP line follows its response). */
  linesOf(id: string): Promise<LogLine[]>;
  /** Asserts one outcome: its code, status, request id, a message, and one log line at the code's level. */
  check(what: string, o: Outcome, id: string, code: ErrorCode, status: number): Promise<void>;
  /**
   * Runs one case over both transports (HTTP first, then gRPC, each with its own request id)
   * and asserts they agree: the code, each status from the one map, the same message (unless
   * `sameMessage` is false: a deliberate difference), Retry-After on both or neither, one log
   * line each at logLevelOf(code), one count each in the request counters, and, read from a
   * real /metrics scrape, one count each of `refusal` in its refusal counter (auth:
   * loupe_auth_failures_total, admission: loupe_admission_refusals_total) and no other
   * refusal counted (none at all when `refusal` is not given).
   */
  both(
    name: string,
    code: ErrorCode,
    http: (id: string) => Promise<Outcome>,
    rpc: (id: string) => Promise<Outcome>,
    route: string,
    opts?: { method?: string; sameMessage?: boolean | ((m: string) => string); refusal?: Refusal },
  ): Promise<{ h: Outcome; g: Outcome }>;
}

let seq = 0;

const REFUSAL_METRIC = { auth: 'loupe_auth_failures_total', admission: 'loupe_admission_refusals_total' } as const;

/** The refusal counters moved by one case: `refusal` once per transport, nothing else. */
async function checkRefusals(name: string, before: Sample[], after: Sample[], refusal: Refusal | undefined) {
  const moved = (labels: Record<string, string>, metric?: string) =>
    (metric ? [metric] : Object.values(REFUSAL_METRIC)).reduce(
      (a, m) => a + sum(after, m, labels) - sum(before, m, labels),
      0,
    );
  if (refusal) {
    const metric = REFUSAL_METRIC[refusal.kind];
    for (const transport of ['http', 'grpc'])
      assert.equal(
        moved({ transport, reason: refusal.reason }, metric),
        1,
        `${name}: ${metric}{transport="${transport}",reason="${refusal.reason}"} counted once`,
      );
  }
  assert.equal(moved({}), refusal ? 2 : 0, `${name}: no other refusal counted`);
}

export function parity(srv: TestServer, lines: readonly LogLine[]): Parity {
  const linesOf: Parity['linesOf'] = async (id) => {
    for (let i = 0; i < 50 && !lines.some((l) => l.reqId === id); i++) await new Promise((r) => setTimeout(r, 10));
    return lines.filter((l) => l.reqId === id);
  };
  const check: Parity['check'] = async (what, o, id, code, status) => {
    assert.equal(o.code, code, `${what}: ${JSON.stringify(o)}`);
    assert.equal(o.status, status, `${what}: ${JSON.stringify(o)}`);
    assert.equal(o.requestId, id, `${what}: request id`);
    assert.ok(o.message && o.message.length > 0, `${what}: a message`);
    const [line, ...more] = await linesOf(id);
    assert.ok(line, `${what}: no log line`);
    assert.equal(more.length, 0, `${what}: one log line, got ${JSON.stringify([line, ...more])}`);
    assert.equal(LEVELS[line.level], logLevelOf(code), `${what}: log level of ${JSON.stringify(line)}`);
    assert.equal(line.code, code, `${what}: log line's code`);
    assert.notEqual(line.grpc_code, 'CANCELLED', `${what}: logged as CANCELLED`);
  };
  const both: Parity['both'] = async (name, code, http, rpc, route, opts = {}) => {
    const method = opts.method ?? 'ModelInfer';
    const hid = `parity-h-${++seq}`;
    const gid = `parity-g-${seq}`;
    const counts = () => counted(srv, { route, status: httpStatusOf[code] }, { method, code: grpcStatusOf[code] });
    const before = await counts();
    const refusalsBefore = await scrape(srv.url);
    const h = await http(hid);
    const g = await rpc(gid);
    await check(`${name} over HTTP`, h, hid, code, httpStatusOf[code]);
    await check(`${name} over gRPC`, g, gid, code, grpcStatusOf[code]);
    assert.equal(g.detailsId, gid, `${name}: gRPC details end with the request id`);
    const same = opts.sameMessage ?? true;
    if (same !== false) {
      const norm = typeof same === 'function' ? same : (m: string) => m;
      assert.equal(norm(g.message!), norm(h.message!), `${name}: the same message on both`);
    }
    assert.equal(g.retryAfter === undefined, h.retryAfter === undefined, `${name}: Retry-After on both or neither`);
    const after = await counts();
    assert.equal(after.http - before.http, 1, `${name}: one HTTP request counted`);
    assert.equal(after.grpc - before.grpc, 1, `${name}: one gRPC call counted`);
    await checkRefusals(name, refusalsBefore, await scrape(srv.url), opts.refusal);
    return { h, g };
  };
  return { linesOf, check, both };
}
