// The OIP transport scenario of `npm run bench` (alone: `npm run bench -- --oip-only`): one
// `loupe serve`, one model, one image, the same concurrency, sent as the Open Inference
// Protocol over HTTP (the binary tensor extension, and JSON with base64) and over gRPC
// (raw_input_contents), in interleaved runs so drift of the machine hits every transport
// alike. Reported as throughput and latency per transport, and gRPC's ratio to HTTP's.
// Bounded: each run is `seconds` long and at most 200,000 requests.
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { LOADER_OPTIONS, PROTO_DIR } from '../../src/grpc/index.ts';
import { HEADER_LENGTH, encodeBytesElements, encodeInferRequest } from '../../src/inference/index.ts';
import { load, type LoadResult } from './load.ts';
import { formatSpread, median, pairedRatio, type Spread } from './rounds.ts';
import { startServer } from './server.ts';

export type Transport = 'http-binary' | 'http-json' | 'grpc';
export const TRANSPORTS: readonly Transport[] = ['http-binary', 'http-json', 'grpc'];

export interface OipRun extends LoadResult {
  readonly transport: Transport;
  readonly round: number;
  /** CPU seconds the server process used during the run (process_cpu_seconds_total). */
  readonly serverCpuS: number;
}

export interface OipReport {
  readonly model: string;
  readonly image_bytes: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly runs: OipRun[];
  /** Per concurrency: each transport's median over its rounds, and gRPC / HTTP binary paired by round. */
  readonly summary: Array<{
    concurrency: number;
    throughput: Record<Transport, number>;
    p50: Record<Transport, number>;
    p99: Record<Transport, number>;
    client_cpu_s_per_1000: Record<Transport, number>;
    server_cpu_s_per_1000: Record<Transport, number>;
    grpc_vs_http_binary: Spread;
  }>;
}

/** A closed loop of `concurrency` ModelInfer calls on one channel, as one tritonclient.grpc client makes them. */
export async function grpcLoad(
  client: grpc.Client,
  request: object,
  concurrency: number,
  seconds: number,
  maxRequests = 200_000,
): Promise<LoadResult> {
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  let ok = 0,
    unavailable = 0,
    other = 0,
    sent = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const infer = (client as unknown as Record<string, grpc.requestCallback<unknown>>).ModelInfer as unknown as (
    req: object,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null) => void,
  ) => void;
  const worker = async () => {
    while (performance.now() < end && sent < maxRequests) {
      sent++;
      const t = performance.now();
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        infer.call(client, request, { deadline: Date.now() + 60_000 }, resolve),
      );
      latencies.push(performance.now() - t);
      if (!err) ok++;
      else if (err.code === grpc.status.UNAVAILABLE) unavailable++;
      else other++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!);
  return {
    concurrency,
    seconds: elapsed,
    requests: sent,
    throughput: ok / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    ok,
    status503: unavailable,
    otherErrors: other,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export async function oipTransports(opts: {
  store: string;
  model: string;
  image: Buffer;
  levels: readonly number[];
  seconds: number;
  rounds: number;
  env: Record<string, string>;
  log: (msg: string) => void;
}): Promise<OipReport> {
  const { model, image, seconds, rounds } = opts;
  const grpcPort = await freePort();
  const server = await startServer({
    LOUPE_MODEL_STORE: opts.store,
    LOUPE_DEFAULT_MODEL: model,
    LOUPE_DATA_DIR: 'memory://',
    LOUPE_GRPC_PORT: String(grpcPort),
    ...opts.env,
  });
  const definition = loader.loadSync(path.join(PROTO_DIR, 'triton', 'grpc_service.proto'), {
    ...LOADER_OPTIONS,
    includeDirs: [path.join(PROTO_DIR, 'triton')],
  });
  const Service = (
    grpc.loadPackageDefinition(definition) as unknown as {
      inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
    }
  ).inference.GRPCInferenceService;
  const client = new Service(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  const url = `${server.url}/v2/models/${encodeURIComponent(model)}/infer`;
  const info = (await (await fetch(`${server.url}/models/${model}`)).json()) as { outputs: Array<{ name: string }> };
  const output = info.outputs[0]!.name;
  // The same image and the same answer (raw scores) on every transport.
  const framed = encodeInferRequest({
    inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', binary: encodeBytesElements([image]) }],
    outputs: [{ name: output, parameters: { binary_data: true } }],
  });
  const bodies = {
    'http-binary': {
      body: framed.body,
      contentType: 'application/octet-stream',
      headers: { [HEADER_LENGTH]: String(framed.headerLength) },
    },
    'http-json': {
      body: Buffer.from(
        JSON.stringify({
          inputs: [{ name: 'image', shape: [1], datatype: 'BYTES', data: [image.toString('base64')] }],
          outputs: [{ name: output }],
        }),
      ),
      contentType: 'application/json',
    },
  };
  const grpcRequest = {
    model_name: model,
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
    outputs: [{ name: output }],
    raw_input_contents: [encodeBytesElements([image])],
  };
  const runs: OipRun[] = [];
  try {
    const once = (t: Transport, c: number, s: number) =>
      t === 'grpc' ? grpcLoad(client, grpcRequest, c, s) : load(url, bodies[t], c, s);
    for (const t of TRANSPORTS) await once(t, 4, 1); // warm-up: connections, JIT, the model's first batches
    for (const c of opts.levels) {
      for (let round = 0; round < rounds; round++) {
        // Interleaved, and each round in the other order, so neither transport always goes first.
        const order = round % 2 === 0 ? TRANSPORTS : [...TRANSPORTS].reverse();
        for (const t of order) {
          const cpu0 = await server.metric('process_cpu_seconds_total');
          const r = await once(t, c, seconds);
          const serverCpuS = (await server.metric('process_cpu_seconds_total')) - cpu0;
          runs.push({ ...r, transport: t, round, serverCpuS });
          opts.log(
            `  OIP ${t} c=${c} round ${round + 1}: ${r.throughput.toFixed(1)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors ${r.otherErrors + r.status503}`,
          );
        }
      }
    }
  } finally {
    client.close();
    await server.stop();
  }
  return { model, image_bytes: image.length, seconds, rounds, runs, summary: oipSummary(runs, opts.levels) };
}

/** Medians per transport and level; gRPC / HTTP binary as the median of the per-round ratios, with their range. */
export function oipSummary(runs: readonly OipRun[], levels: readonly number[]): OipReport['summary'] {
  const series = (c: number, t: Transport) =>
    runs.filter((r) => r.concurrency === c && r.transport === t).sort((a, b) => a.round - b.round);
  const per = (c: number, f: (r: OipRun) => number) =>
    Object.fromEntries(TRANSPORTS.map((t) => [t, median(series(c, t).map(f))])) as Record<Transport, number>;
  return levels.map((c) => ({
    concurrency: c,
    throughput: per(c, (r) => r.throughput),
    p50: per(c, (r) => r.p50),
    p99: per(c, (r) => r.p99),
    client_cpu_s_per_1000: per(c, (r) => (1000 * r.clientCpuS) / Math.max(1, r.ok)),
    server_cpu_s_per_1000: per(c, (r) => (1000 * r.serverCpuS) / Math.max(1, r.ok)),
    grpc_vs_http_binary: pairedRatio(
      series(c, 'http-binary').map((r) => r.throughput),
      series(c, 'grpc').map((r) => r.throughput),
    ),
  }));
}

export function oipMarkdown(r: OipReport, machine: string): string {
  const f = (x: number, d = 1) => x.toFixed(d);
  const rows = r.summary.map(
    (s) =>
      `| ${s.concurrency} | ${TRANSPORTS.map((t) => f(s.throughput[t])).join(' | ')} | **${formatSpread(s.grpc_vs_http_binary, 2)}** | ${TRANSPORTS.map((t) => `${f(s.p50[t], 0)} / ${f(s.p99[t], 0)}`).join(' | ')} | ${TRANSPORTS.map((t) => f(s.server_cpu_s_per_1000[t], 2)).join(' | ')} | ${TRANSPORTS.map((t) => f(s.client_cpu_s_per_1000[t], 2)).join(' | ')} |`,
  );
  return [
    `# OIP over HTTP vs gRPC`,
    '',
    `${machine}. Model \`${r.model}\`, one ${Math.round(r.image_bytes / 1024)} KiB JPEG per request (BYTES input, raw scores back), ` +
      `${r.rounds} interleaved rounds of ${r.seconds} s per transport and concurrency, one \`loupe serve\`. ` +
      'HTTP: autocannon, one connection per concurrent request; gRPC: @grpc/grpc-js, one channel (as one tritonclient.grpc client). ' +
      'The load generator shares the machine with the server. Each cell: the median over the rounds; ' +
      'gRPC / HTTP binary: the median of the per-round ratios (min–max).',
    '',
    '| concurrency | HTTP binary req/s | HTTP JSON req/s | gRPC req/s | gRPC / HTTP binary | p50 / p99 ms HTTP binary | HTTP JSON | gRPC | server CPU s per 1000 HTTP binary | HTTP JSON | gRPC | client CPU s per 1000 HTTP binary | HTTP JSON | gRPC |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
