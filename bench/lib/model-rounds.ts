// One model of the main bench scenario in interleaved rounds: each round measures the raw
// preprocessing rate P, Loupe at every concurrency level (the order flips every round), the raw
// ONNX Runtime rate I at the batch the server formed, and the 12 MP photo; so every ratio the
// report shows (server / B, p50 / its bound, 12 MP / web p50) pairs figures from the same round
// and is the median of those per-round ratios with their min–max (rounds.ts).
import type { ModelEntry } from '../../src/models/index.ts';
import { load } from './load.ts';
import { rawInference, rawPreprocess } from './raw.ts';
import { cpuShare, pct, type ModelReport } from './report.ts';
import { roundOrder, spread, type Spread } from './rounds.ts';
import type { BenchServer } from './server.ts';

type Level = ModelReport['levels'][number];

interface Round {
  readonly P: ModelReport['P'];
  readonly I1: ModelReport['I1'];
  readonly If: ModelReport['If'];
  readonly formed: number;
  readonly levels: Level[];
  readonly phone: ModelReport['phone'];
}

export interface ModelRoundsOptions {
  readonly server: BenchServer;
  readonly entry: ModelEntry;
  readonly web: Buffer;
  readonly webBody: { body: Buffer; contentType: string };
  readonly phoneBody: { body: Buffer; contentType: string };
  readonly levels: readonly number[];
  readonly seconds: number;
  readonly rounds: number;
  readonly cpus: number;
  readonly providers: string[];
  readonly extraBatches: readonly number[];
  readonly log: (msg: string) => void;
}

export const boundOf = (P: { imagesPerSecond: number }, I: { imagesPerSecond: number }) =>
  1 / (1 / I.imagesPerSecond + 1 / P.imagesPerSecond);

async function oneRound(o: ModelRoundsOptions, round: number): Promise<Round> {
  const { server, entry, seconds, cpus } = o;
  const name = entry.name;
  const { input } = entry.config;
  const chw = [input.color === 'rgb' ? 3 : 1, input.height, input.width];
  o.log(`${name} round ${round + 1}/${o.rounds}: raw preprocessing (P) at concurrency 16`);
  const P = await rawPreprocess(o.web, input, 16, seconds);
  const levels: Level[] = [];
  const labels = { model: name, version: entry.version };
  const counters = async () => {
    const read = await server.metrics();
    return {
      batches: read('loupe_batch_size_count', labels),
      images: read('loupe_batch_size_sum', labels),
      computeS: read('loupe_inference_compute_seconds_sum', labels),
      cpuS: read('process_cpu_seconds_total'),
    };
  };
  for (const c of roundOrder(o.levels, round)) {
    o.log(`${name}: load at concurrency ${c} for ${seconds}s`);
    const a = await counters();
    const r = await load(`${server.url}/predict?model=${name}`, o.webBody, c, seconds);
    const b = await counters();
    const images = b.images - a.images;
    const serverCpuS = b.cpuS - a.cpuS;
    // ONNX Runtime's own time per image inside the server (timed on its thread), against the raw I.
    const ortMsPerImage = images > 0 ? (1000 * (b.computeS - a.computeS)) / images : 0;
    const meanBatch = b.batches > a.batches ? images / (b.batches - a.batches) : 0;
    levels.push({ ...r, meanBatch, serverCpuS, cpus, ortMsPerImage });
    o.log(
      `  ${r.throughput.toFixed(1)} img/s, p50 ${r.p50} ms, p99 ${r.p99} ms, mean batch ${meanBatch.toFixed(1)}, ONNX Runtime ${ortMsPerImage.toFixed(2)} ms/image, errors ${r.otherErrors}, 503s ${r.status503}, CPU: client ${pct(cpuShare(r.clientCpuS, r.seconds, cpus))}, server ${pct(cpuShare(serverCpuS, r.seconds, cpus))} of ${cpus} cores`,
    );
  }
  levels.sort((a, b) => a.concurrency - b.concurrency);
  const formed = Math.max(
    1,
    Math.round(Math.max(...levels.filter((l) => l.concurrency >= 16).map((l) => l.meanBatch), 1)),
  );
  o.log(`${name}: raw ONNX Runtime (I) at batch 1 and ${formed}`);
  const I1 = await rawInference(entry.onnxPath, input.name, chw, 1, cpus, seconds, o.providers);
  const If =
    formed === 1 ? I1 : await rawInference(entry.onnxPath, input.name, chw, formed, cpus, seconds, o.providers);
  o.log(`${name}: 12-megapixel JPEG at concurrency 1`);
  const phone = await load(`${server.url}/predict?model=${name}`, o.phoneBody, 1, seconds);
  return { P, I1, If, formed, levels, phone };
}

const c1p50 = (r: Round) => r.levels.find((l) => l.concurrency === 1)?.p50 ?? NaN;
const finite = (xs: number[]) => spread(xs.filter(Number.isFinite));

/** The round whose `f` is the median (the lower middle one for an even count). */
function medianRound<T>(xs: readonly T[], f: (x: T) => number): T {
  return [...xs].sort((a, b) => f(a) - f(b))[(xs.length - 1) >> 1]!;
}

export async function measureModel(o: ModelRoundsOptions): Promise<ModelReport> {
  const { entry } = o;
  const { input } = entry.config;
  const rssBefore = await o.server.metric('process_resident_memory_bytes');
  const rounds: Round[] = [];
  for (let r = 0; r < o.rounds; r++) rounds.push(await oneRound(o, r));
  const rssAfter = await o.server.metric('process_resident_memory_bytes');
  const chw = [input.color === 'rgb' ? 3 : 1, input.height, input.width];
  const extra: Record<string, number> = {};
  for (const b of o.extraBatches) {
    o.log(`${entry.name}: raw ONNX Runtime at batch ${b}`);
    extra[`batch_${b}`] = (
      await rawInference(entry.onnxPath, input.name, chw, b, o.cpus, o.seconds, o.providers)
    ).imagesPerSecond;
  }
  const provider = ((await (await fetch(`${o.server.url}/models/${entry.name}`)).json()) as { provider: string })
    .provider;
  const B = rounds.map((r) => boundOf(r.P, r.If));
  const perLevel = (f: (l: Level, round: number) => number): Record<number, Spread> =>
    Object.fromEntries(
      o.levels.map((c) => [
        c,
        spread(
          rounds.map((r, i) =>
            f(
              r.levels.find((l) => l.concurrency === c)!,
              i,
            ),
          ),
        ),
      ]),
    );
  // The figures of one round stand for each cell; the ratios come from all of them, paired.
  const mid = medianRound(rounds, (r) => boundOf(r.P, r.If));
  return {
    name: entry.name,
    version: entry.version,
    chw,
    P: mid.P,
    I1: mid.I1,
    If: mid.If,
    formed: mid.formed,
    levels: o.levels.map((c) =>
      medianRound(
        rounds.map((r) => r.levels.find((l) => l.concurrency === c)!),
        (l) => l.throughput,
      ),
    ),
    phone: medianRound(
      rounds.map((r) => r.phone),
      (p) => p.p50,
    ),
    rssBefore,
    rssAfter,
    provider,
    rawBatches: extra,
    rounds: {
      n: rounds.length,
      B: spread(B),
      throughput: perLevel((l) => l.throughput),
      serverOverB: perLevel((l, i) => l.throughput / B[i]!),
      p50OverBound: finite(rounds.map((r) => c1p50(r) / (r.P.msSingle + r.I1.msPerCall + 3))),
      phoneOverWeb: finite(rounds.map((r) => r.phone.p50 / c1p50(r))),
    },
  };
}
