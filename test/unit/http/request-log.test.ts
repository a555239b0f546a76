import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, LoupeError, grpcStatusOf, type ErrorCode as Code } from '../../../src/errors.ts';
import { requestLogHook } from '../../../src/http/request-log.ts';
import { recordCall } from '../../../src/grpc/rpcs.ts';
import { createLogger, createMetrics } from '../../../src/observability/index.ts';

interface Line {
  level: number;
  msg: string;
  code?: string;
  err?: { stack?: string };
}

function capture() {
  const lines: Line[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      cb();
    },
  });
  return { lines, logger: createLogger('debug', { destination: dest }) };
}

const STATUS: Partial<Record<Code, number>> = { OVERLOADED: 503, NOT_READY: 503, RATE_LIMITED: 429, INTERNAL: 500 };

/** The HTTP request line for a request answered with `code` (as sendError leaves it). */
async function httpLine(code: Code | undefined, status: number, route = '/predict'): Promise<Line> {
  const { lines, logger } = capture();
  const error = code && new LoupeError(code, code === ErrorCode.Internal ? 'internal error' : `refused: ${code}`);
  const req = {
    method: 'POST',
    routeOptions: { url: route },
    log: logger,
    loupeError: error ? { error, original: code === ErrorCode.Internal ? new Error('boom') : error } : undefined,
  } as unknown as FastifyRequest;
  const reply = { statusCode: status, elapsedTime: 1.5 } as unknown as FastifyReply;
  await requestLogHook(createMetrics())(req, reply);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  return lines[0]!;
}

async function grpcLine(code: Code): Promise<Line> {
  const { lines, logger } = capture();
  const error = new LoupeError(code, `refused: ${code}`);
  const original = code === ErrorCode.Internal ? new Error('boom') : error;
  recordCall(logger, createMetrics(), {
    id: 'r1',
    method: 'ModelInfer',
    code: grpcStatusOf[code] as grpc.status,
    seconds: 0.001,
    principal: undefined,
    failure: { error, original },
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  return lines[0]!;
}

describe('request log levels, the same on HTTP and gRPC', () => {
  it('429 and 503 are warn lines without a stack; other client errors info; a real 500 error with its stack', async () => {
    const cases: Array<[Code, number]> = [
      [ErrorCode.Overloaded, 40],
      [ErrorCode.NotReady, 40],
      [ErrorCode.RateLimited, 40],
      [ErrorCode.BadRequest, 30],
      [ErrorCode.ModelNotFound, 30],
      [ErrorCode.Internal, 50],
    ];
    for (const [code, level] of cases) {
      const h = await httpLine(code, STATUS[code] ?? 400);
      const g = await grpcLine(code);
      assert.equal(h.level, level, `HTTP ${code}`);
      assert.equal(g.level, level, `gRPC ${code}`);
      assert.equal(h.code, code);
      const stack = code === ErrorCode.Internal;
      assert.equal(typeof h.err?.stack === 'string', stack, `HTTP ${code} stack`);
      assert.equal(typeof g.err?.stack === 'string', stack, `gRPC ${code} stack`);
      if (!stack) assert.ok(JSON.stringify(h).length < 400, `HTTP ${code} line is short: ${JSON.stringify(h)}`);
    }
  });

  it("Fastify's own 503 (draining) is a warn; a readiness probe's 503 stays at debug", async () => {
    assert.equal((await httpLine(undefined, 503)).level, 40);
    assert.equal((await httpLine(undefined, 503, '/readyz')).level, 20);
    assert.equal((await httpLine(undefined, 200)).level, 30);
  });
});
