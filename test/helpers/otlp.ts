import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** One span as an OTLP/HTTP JSON export carries it, flattened with its resource's service.name. */
export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, unknown>;
  readonly links: ReadonlyArray<{ traceId: string; spanId: string }>;
  readonly status: { code?: number; message?: string };
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
}
const plain = (attrs: KeyValue[] = []): Record<string, unknown> =>
  Object.fromEntries(
    attrs.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue)),
    ]),
  );

/**
 * A loopback OTLP/HTTP receiver (what a Collector or Jaeger listens on at :4318): keeps every
 * ExportTraceServiceRequest POSTed to /v1/traces, in JSON, and answers 200 as a receiver does.
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return res.writeHead(404).end();
      contentTypes.push(String(req.headers['content-type']));
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as any;
      for (const rs of body.resourceSpans ?? []) {
        const service = String(plain(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              service,
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId ?? '',
              name: s.name,
              kind: s.kind,
              attributes: plain(s.attributes),
              // eslint-disable-next-line @typescript-eslint/no-explicit-any
              links: (s.links ?? []).map((l: any) => ({ traceId: l.traceId, spanId: l.spanId })),
              status: s.status ?? {},
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    spans,
    contentTypes,
    /** Waits until `done(spans)` holds (bounded), then returns the spans of `traceId`. */
    async waitFor(traceId: string, done: (trace: ReceivedSpan[]) => boolean, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const trace = spans.filter((s) => s.traceId === traceId);
        if (done(trace)) return trace;
        if (Date.now() > until)
          throw new Error(`spans of ${traceId} incomplete: ${trace.map((s) => `${s.service}:${s.name}`).join(', ')}`);
        await sleep(50);
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface RoleProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly grpcAddress: string;
  /** Its log lines so far, parsed (LOUPE_LOG_FORMAT=json). */
  lines(): Array<Record<string, unknown>>;
  /** Everything it wrote, stdout and stderr. */
  text(): string;
  /** SIGTERM, and its exit (a graceful stop). */
  stop(): Promise<number | null>;
}

/** `loupe <role>` (or `loupe migrate`) in a child process, as it runs in production; resolves once it listens. */
export async function startRole(
  role: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<RoleProcess> {
  const child = spawn(process.execPath, [...nodeArgs, MAIN, role], {
    env: {
      ...process.env,
      PORT: '0',
      LOUPE_GRPC_PORT: '0',
      HOST: '127.0.0.1',
      LOUPE_LOG_LEVEL: 'info',
      LOUPE_LOG_FORMAT: 'json',
      LOUPE_NODE_TUNING: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const lines = () =>
    logs
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const listening: Record<string, unknown> = await Promise.race([
    (async () => {
      for (;;) {
        const line = lines().find((l) => typeof l.msg === 'string' && / (listening on|running) /.test(l.msg));
        if (line) return line;
        if (role === 'migrate' && child.exitCode === 0) return {};
        await sleep(50);
      }
    })(),
    exited.then((code) => {
      if (role === 'migrate' && code === 0) return {};
      throw new Error(`loupe ${role} exited (${code}):\n${logs}`);
    }),
  ]);
  return {
    child,
    url: String(listening.address ?? ''),
    grpcAddress: String(listening.grpc_address ?? ''),
    lines,
    text: () => logs,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * A module hook for `node --import`: prints every @opentelemetry module the process loads
 * ("otel-module <url>" on stderr), so a test can tell whether the SDK was loaded at all.
 */
export const OTEL_LOAD_PROBE = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module';" +
    'registerHooks({ load(url, context, next) {' +
    " if (url.includes('/@opentelemetry/')) process.stderr.write('otel-module ' + url + '\\n');" +
    ' return next(url, context); } });',
)}`;
