// fp32 vs int8 (`npm run bench -- --int8-only`): each model against its `<name>-int8` twin
// (training/export_torchvision.py --int8), every figure from interleaved rounds (rounds.ts).
// One round of one variant = a fresh `loupe serve` holding only that model: idle RSS, a warm-up,
// c = 1 and c = high for `seconds` each, peak RSS (VmHWM), mean batch formed; then raw ONNX
// Runtime img/s at each batch size asked for (where int8 peaks may differ from fp32). Top-1
// agreement: every agreement image through both variants' /predict in the first round.
// Bounded: every load is `seconds` long and at most 200,000 requests.
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { availableCpus } from '../../src/config/index.ts';
import { scanStore } from '../../src/models/index.ts';
import { load, multipartBody } from './load.ts';
import { rawInference } from './raw.ts';
import { interleave, pairedRatio, spread, type Spread } from './rounds.ts';
import { rssBytes, startServer } from './server.ts';

export type Precision = 'fp32' | 'int8';
const VARIANTS: readonly Precision[] = ['fp32', 'int8'];

export interface PrecisionRun {
  readonly round: number;
  readonly c1: { throughput: number; p50: number };
  readonly high: { throughput: number; p50: number; meanBatch: number; errors: number };
  readonly idleRssMb: number;
  readonly peakRssMb: number;
  /** Raw ONNX Runtime img/s per batch size. */
  readonly raw: Record<string, number>;
}

export interface PrecisionModel {
  readonly model: string;
  readonly bytes: Record<Precision, number>;
  readonly runs: Record<Precision, PrecisionRun[]>;
  readonly agreement: { images: number; same: number };
  readonly summary: {
    readonly c1: Record<Precision, Spread>;
    readonly high: Record<Precision, Spread>;
    readonly p50_c1: Record<Precision, Spread>;
    readonly p50_high: Record<Precision, Spread>;
    readonly peak_rss_mb: Record<Precision, Spread>;
    readonly raw: Record<Precision, Record<string, Spread>>;
    /** int8 / fp32, per-round paired. */
    readonly speedup_c1: Spread;
    readonly speedup_high: Spread;
    /** Bare ONNX Runtime int8 / fp32 per batch size, per-round paired: the model's own gain, without decode. */
    readonly speedup_raw: Record<string, Spread>;
  };
}

export interface PrecisionOptions {
  readonly store: string;
  readonly models: readonly string[];
  readonly image: Buffer;
  readonly agreementImages: readonly Buffer[];
  readonly seconds: number;
  readonly rounds: number;
  readonly high: number;
  readonly batches: readonly number[];
  readonly env: Record<string, string>;
  readonly log: (msg: string) => void;
}

const MB = 1048576;

/** A store holding only `name` (a link), so the server's RSS is that model's alone. */
function soloStore(store: string, name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'loupe-precision-'));
  symlinkSync(path.join(store, name), path.join(dir, name));
  return dir;
}

async function oneRun(o: PrecisionOptions, name: string, round: number, top1: string[] | null): Promise<PrecisionRun> {
  const store = soloStore(o.store, name);
  const s = await startServer({
    LOUPE_MODEL_STORE: store,
    LOUPE_DEFAULT_MODEL: name,
    LOUPE_DATA_DIR: 'memory://',
    ...o.env,
  });
  try {
    const idleRssMb = Math.round(rssBytes(s.child.pid!) / MB);
    const url = `${s.url}/predict?model=${encodeURIComponent(name)}`;
    const body = multipartBody(o.image, 'photo.jpg');
    await load(url, body, 4, 1); // warm-up: connections, JIT, the first batches
    const c1 = await load(url, body, 1, o.seconds);
    const before = await s.metrics();
    const high = await load(url, body, o.high, o.seconds);
    const after = await s.metrics();
    const labels = { model: name };
    const batches = after('loupe_batch_size_count', labels) - before('loupe_batch_size_count', labels);
    const images = after('loupe_batch_size_sum', labels) - before('loupe_batch_size_sum', labels);
    const peakRssMb = Math.round(rssBytes(s.child.pid!, 'VmHWM') / MB);
    if (top1)
      for (const img of o.agreementImages) {
        const res = await fetch(`${url}&top_k=1`, {
          method: 'POST',
          headers: { 'content-type': multipartBody(img, 'a.jpg').contentType },
          body: multipartBody(img, 'a.jpg').body,
        });
        const j = (await res.json()) as { predictions?: Array<{ label: string }> };
        top1.push(j.predictions?.[0]?.label ?? `error ${res.status}`);
      }
    await s.stop();
    const entry = scanStore(store).entries.at(-1)!;
    const { input } = entry.config;
    const chw = [input.color === 'rgb' ? 3 : 1, input.height, input.width];
    const raw: Record<string, number> = {};
    for (const b of o.batches)
      raw[b] = (await rawInference(entry.onnxPath, input.name, chw, b, availableCpus(), o.seconds / 2)).imagesPerSecond;
    return {
      round,
      c1: { throughput: c1.throughput, p50: c1.p50 },
      high: {
        throughput: high.throughput,
        p50: high.p50,
        meanBatch: batches > 0 ? images / batches : 0,
        errors: high.otherErrors + high.status503,
      },
      idleRssMb,
      peakRssMb,
      raw,
    };
  } finally {
    await s.stop();
    rmSync(store, { recursive: true, force: true });
  }
}

export async function precisionScenario(o: PrecisionOptions): Promise<PrecisionModel[]> {
  const out: PrecisionModel[] = [];
  for (const model of o.models) {
    const names: Record<Precision, string> = { fp32: model, int8: `${model}-int8` };
    const top1: Record<Precision, string[]> = { fp32: [], int8: [] };
    const runs = await interleave(VARIANTS, o.rounds, async (v, round) => {
      const r = await oneRun(o, names[v], round, round === 0 ? top1[v] : null);
      o.log(
        `  ${names[v]} round ${round + 1}: c=1 ${r.c1.throughput.toFixed(1)} img/s (p50 ${r.c1.p50} ms), ` +
          `c=${o.high} ${r.high.throughput.toFixed(1)} img/s (p50 ${r.high.p50} ms, batch ${r.high.meanBatch.toFixed(1)}), ` +
          `peak RSS ${r.peakRssMb} MB, raw ${Object.entries(r.raw)
            .map(([b, x]) => `b${b} ${x.toFixed(0)}`)
            .join(' ')}`,
      );
      return r;
    });
    const per = (f: (r: PrecisionRun) => number) =>
      Object.fromEntries(VARIANTS.map((v) => [v, spread(runs[v].map(f))])) as Record<Precision, Spread>;
    const series = (v: Precision, f: (r: PrecisionRun) => number) => runs[v].map(f);
    out.push({
      model,
      bytes: Object.fromEntries(
        VARIANTS.map((v) => [
          v,
          statSync(
            scanStore(o.store)
              .entries.filter((e) => e.name === names[v])
              .at(-1)!.onnxPath,
          ).size,
        ]),
      ) as Record<Precision, number>,
      runs,
      agreement: { images: top1.fp32.length, same: top1.fp32.filter((l, i) => l === top1.int8[i]).length },
      summary: {
        c1: per((r) => r.c1.throughput),
        high: per((r) => r.high.throughput),
        p50_c1: per((r) => r.c1.p50),
        p50_high: per((r) => r.high.p50),
        peak_rss_mb: per((r) => r.peakRssMb),
        raw: Object.fromEntries(
          VARIANTS.map((v) => [v, Object.fromEntries(o.batches.map((b) => [b, spread(series(v, (r) => r.raw[b]!))]))]),
        ) as Record<Precision, Record<string, Spread>>,
        speedup_c1: pairedRatio(
          series('fp32', (r) => r.c1.throughput),
          series('int8', (r) => r.c1.throughput),
        ),
        speedup_high: pairedRatio(
          series('fp32', (r) => r.high.throughput),
          series('int8', (r) => r.high.throughput),
        ),
        speedup_raw: Object.fromEntries(
          o.batches.map((b) => [
            b,
            pairedRatio(
              series('fp32', (r) => r.raw[b]!),
              series('int8', (r) => r.raw[b]!),
            ),
          ]),
        ),
      },
    });
  }
  return out;
}
