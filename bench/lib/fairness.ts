// The fairness scenario of `npm run bench` (alone: `npm run bench -- --fairness-only`): one
// `loupe serve` with keys required and its default limits, a victim key predicting over HTTP
// (/predict) and gRPC (ModelInfer) at a fixed concurrency, with no attack and then under each
// attack an attacker key can run (issue #25): slow HTTP uploads that announce the whole upload
// budget and send a byte every 2 s, and header-only gRPC ModelInfer streams. Reported: the
// victim's throughput, p99 and success rate per phase, and what the attacker's requests got.
// Every phase runs in interleaved rounds (bench/lib/rounds.ts): "vs no attack" is the median of
// each round's attacked rate over the same round's unattacked one, so a noisy minute cannot
// decide the goal. Bounded: each load is `seconds` long (at most 200,000 requests); the attack
// stops with it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import { generateKey } from '../../src/auth/index.ts';
import { ConfigSchema } from '../../src/config/index.ts';
import { LOADER_OPTIONS, PROTO_DIR } from '../../src/grpc/index.ts';
import { encodeBytesElements } from '../../src/inference/index.ts';
import { load, type LoadResult } from './load.ts';
import { freePort, grpcLoad } from './oip.ts';
import { formatSpread, interleave, pairedRatio, spread, verdict, type Spread } from './rounds.ts';
import { startServer } from './server.ts';

export type Attack = 'none' | 'slow-http-uploads' | 'grpc-header-only-streams';
export const ATTACKS: readonly Attack[] = ['none', 'slow-http-uploads', 'grpc-header-only-streams'];
const DRIBBLERS = 7;
const STREAMS = 8;
/** The victim keeps at least this share of its unattacked rate under any attack (issue #25). */
export const FAIRNESS_GOAL = 0.9;

export interface FairnessRun {
  readonly round: number;
  readonly attack: Attack;
  readonly transport: 'http' | 'grpc';
  readonly throughput: number;
  readonly p99: number;
  readonly requests: number;
  readonly ok: number;
  readonly success: number;
  /** What the attacker's requests were answered during the run (HTTP status / gRPC code), by count. */
  readonly attacker: Record<string, number>;
}

export interface FairnessReport {
  readonly model: string;
  readonly concurrency: number;
  readonly seconds: number;
  readonly rounds: number;
  readonly limits: Record<string, number>;
  readonly runs: FairnessRun[];
}

const defaults = (k: keyof typeof ConfigSchema.properties) =>
  (ConfigSchema.properties[k] as unknown as { default: number }).default;

/** Runs `attack` until `signal` aborts; counts what each attacking request got. */
function runAttack(attack: Attack, http: URL, grpcPort: number, key: string, signal: AbortSignal) {
  const seen: Record<string, number> = {};
  const count = (k: string) => (seen[k] = (seen[k] ?? 0) + 1);
  const budget = defaults('LOUPE_MAX_INFLIGHT_UPLOAD_BYTES');
  const dribble = () =>
    new Promise<void>((resolve) => {
      const s = net.connect(Number(http.port), '127.0.0.1');
      let got = '';
      const tick = setInterval(() => s.writable && s.write('x'), 2000);
      const stop = () => s.destroy();
      signal.addEventListener('abort', stop, { once: true });
      s.on('data', (d) => (got += d));
      s.on('error', () => undefined);
      s.on('close', () => {
        clearInterval(tick);
        signal.removeEventListener('abort', stop);
        count(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1] ?? (signal.aborted ? 'held to the end' : 'closed'));
        resolve();
      });
      s.write(
        `POST /predict HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: image/jpeg\r\n` +
          `Content-Length: ${Math.floor(budget / DRIBBLERS)}\r\n\r\nx`,
      );
    });
  const session = attack === 'grpc-header-only-streams' ? http2.connect(`http://127.0.0.1:${grpcPort}`) : undefined;
  session?.on('error', () => undefined);
  signal.addEventListener('abort', () => session?.destroy(), { once: true });
  const stream = () =>
    new Promise<void>((resolve) => {
      const s = session!.request(
        {
          ':method': 'POST',
          ':path': '/inference.GRPCInferenceService/ModelInfer',
          'content-type': 'application/grpc',
          te: 'trailers',
          authorization: `Bearer ${key}`,
        },
        { endStream: false },
      );
      let code: string | undefined;
      s.on('response', (h) => (code ??= h['grpc-status'] as string | undefined));
      s.on('trailers', (h) => (code ??= h['grpc-status'] as string | undefined));
      s.on('error', () => undefined);
      s.on('close', () => {
        count(code !== undefined ? (grpc.status[Number(code)] ?? code) : 'held to the end');
        resolve();
      });
    });
  const loop = async (one: () => Promise<void>) => {
    while (!signal.aborted) await one();
  };
  const workers =
    attack === 'slow-http-uploads'
      ? Array.from({ length: DRIBBLERS }, () => loop(dribble))
      : attack === 'grpc-header-only-streams'
        ? Array.from({ length: STREAMS }, () => loop(stream))
        : [];
  return { seen, done: Promise.all(workers) };
}

export async function fairnessScenario(opts: {
  store: string;
  model: string;
  image: Buffer;
  concurrency: number;
  seconds: number;
  rounds: number;
  log: (msg: string) => void;
}): Promise<FairnessReport> {
  const { model, image, concurrency, seconds, rounds } = opts;
  const attacker = generateKey();
  const victim = generateKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-fairness-'));
  const keysFile = path.join(dir, 'api_keys');
  writeFileSync(keysFile, `attacker predict ${attacker.key}\nvictim predict ${victim.key}\n`);
  const grpcPort = await freePort();
  const server = await startServer({
    LOUPE_MODEL_STORE: opts.store,
    LOUPE_DEFAULT_MODEL: model,
    LOUPE_DATA_DIR: 'memory://',
    LOUPE_GRPC_PORT: String(grpcPort),
    LOUPE_AUTH: 'required',
    LOUPE_API_KEYS_FILE: keysFile,
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
  // The victim's key on every call, as a Triton client's headers= would send it.
  const withKey: grpc.Interceptor = (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start: (metadata, listener, start) => {
        metadata.set('authorization', `Bearer ${victim.key}`);
        start(metadata, listener);
      },
    });
  const client = new Service(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
    interceptors: [withKey],
  });
  const grpcRequest = {
    model_name: model,
    inputs: [{ name: 'image', datatype: 'BYTES', shape: [1] }],
    raw_input_contents: [encodeBytesElements([image])],
  };
  const httpBody = {
    body: image,
    contentType: 'image/jpeg',
    headers: { authorization: `Bearer ${victim.key}` },
  };
  const runs: FairnessRun[] = [];
  const url = new URL(server.url);
  const asRun = (
    round: number,
    attack: Attack,
    transport: 'http' | 'grpc',
    r: LoadResult,
    attackerSeen: Record<string, number>,
  ) => ({
    round,
    attack,
    transport,
    throughput: r.throughput,
    p99: r.p99,
    requests: r.requests,
    ok: r.ok,
    success: r.requests > 0 ? r.ok / r.requests : 0,
    attacker: attackerSeen,
  });
  try {
    await load(`${server.url}/predict`, httpBody, concurrency, 1); // warm-up
    await grpcLoad(client, grpcRequest, concurrency, 1);
    const phases = ATTACKS.flatMap((attack) => (['http', 'grpc'] as const).map((t) => `${attack}/${t}` as const));
    await interleave(phases, rounds, async (phase, round) => {
      const [attack, transport] = phase.split('/') as [Attack, 'http' | 'grpc'];
      const stop = new AbortController();
      const a = runAttack(attack, url, grpcPort, attacker.key, stop.signal);
      await new Promise((r) => setTimeout(r, 500)); // the attack is in place first
      const r =
        transport === 'http'
          ? await load(`${server.url}/predict`, httpBody, concurrency, seconds)
          : await grpcLoad(client, grpcRequest, concurrency, seconds);
      stop.abort();
      await a.done;
      const run = asRun(round, attack, transport, r, a.seen);
      runs.push(run);
      opts.log(
        `  fairness round ${round + 1}/${rounds} ${attack} ${transport}: ${r.throughput.toFixed(1)} req/s, p99 ${r.p99} ms, ${(run.success * 100).toFixed(1)} % ok; attacker got ${JSON.stringify(a.seen)}`,
      );
    });
  } finally {
    client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const limits = Object.fromEntries(
    (
      [
        'LOUPE_MAX_INFLIGHT_UPLOAD_BYTES',
        'LOUPE_MAX_INFLIGHT_UPLOAD_BYTES_PER_CLIENT',
        'LOUPE_MIN_UPLOAD_RATE_BYTES_PER_S',
        'LOUPE_UPLOAD_RATE_GRACE_MS',
      ] as const
    ).map((k) => [k, defaults(k)]),
  );
  return { model, concurrency, seconds, rounds, limits, runs };
}

/** One phase over its rounds: the victim's rate, its share of the same round's unattacked rate, p99 and success. */
export interface FairnessPhase {
  readonly attack: Attack;
  readonly transport: 'http' | 'grpc';
  readonly throughput: Spread;
  /** Per round: this phase's rate over the unattacked rate of the same transport and round. */
  readonly share: Spread | undefined;
  readonly p99: Spread;
  /** The worst round's success rate. */
  readonly success: number;
  readonly attacker: Record<string, number>;
}

export function fairnessPhases(r: FairnessReport): FairnessPhase[] {
  const series = (attack: Attack, t: string) =>
    r.runs.filter((x) => x.attack === attack && x.transport === t).sort((a, b) => a.round - b.round);
  return ATTACKS.flatMap((attack) =>
    (['http', 'grpc'] as const).map((transport) => {
      const runs = series(attack, transport);
      const base = series('none', transport).map((x) => x.throughput);
      const attacker: Record<string, number> = {};
      for (const x of runs) for (const [k, n] of Object.entries(x.attacker)) attacker[k] = (attacker[k] ?? 0) + n;
      return {
        attack,
        transport,
        throughput: spread(runs.map((x) => x.throughput)),
        share:
          attack === 'none'
            ? undefined
            : pairedRatio(
                base,
                runs.map((x) => x.throughput),
              ),
        p99: spread(runs.map((x) => x.p99)),
        success: Math.min(...runs.map((x) => x.success)),
        attacker,
      };
    }),
  );
}

export function fairnessMarkdown(r: FairnessReport, machine: string): string {
  const phases = fairnessPhases(r);
  const pct = (s: Spread) =>
    formatSpread({ ...s, median: s.median * 100, min: s.min * 100, max: s.max * 100 }, 0, ' %');
  const rows = phases.map((x) => {
    const got = Object.entries(x.attacker)
      .map(([k, n]) => `${k} × ${n}`)
      .join(', ');
    return `| ${x.attack} | ${x.transport} | ${formatSpread(x.throughput)} | ${x.share ? pct(x.share) : '–'} | ${formatSpread(x.p99, 0)} | ${(x.success * 100).toFixed(1)} % | ${got || '–'} |`;
  });
  const goals = phases
    .filter((x) => x.share)
    .map(
      (x) =>
        `- ${x.attack}, victim on ${x.transport}: ${pct(x.share!)} of its unattacked rate, goal ≥ ${FAIRNESS_GOAL * 100} % ${verdict(x.share!, FAIRNESS_GOAL)}`,
    );
  return [
    `## Fairness: a victim key under an attacker key's attacks (${r.model}, concurrency ${r.concurrency}, ${r.rounds} interleaved rounds of ${r.seconds} s)`,
    '',
    machine,
    '',
    `Default limits: ${Object.entries(r.limits)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}.`,
    '',
    '| attack | victim transport | req/s | vs no attack | p99 ms | victim ok (worst round) | attacker got (all rounds) |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'Each cell: median over the rounds (min–max); "vs no attack" pairs each round with the unattacked run of the same round and transport.',
    '',
    ...goals,
    '',
  ].join('\n');
}
