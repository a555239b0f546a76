// A/B of server settings on one model and concurrency, in one run (same machine state):
//   node bench/ab.ts resnet18 16 LOUPE_ORT_SPINNING=true LOUPE_ORT_SPINNING=false [--rounds 3] [--seconds 8]
// NODE_ARGS=… (space-separated) are flags for node itself, e.g. NODE_ARGS=--optimize-for-size;
// NODE_ARGS= is the baseline; any VAR= (empty) is unset for Loupe. `$OTLP` in a value is the URL
// of a loopback OTLP/HTTP receiver started for the run (tracing on vs off:
// OTEL_TRACES_EXPORTER= OTEL_TRACES_EXPORTER=otlp,OTEL_EXPORTER_OTLP_ENDPOINT=$OTLP). The built CLI runs: `npm run build` first. The variants run in
// interleaved rounds (bench/lib/rounds.ts, at least 3): each is reported as the median with
// the rounds' min–max, and every variant after the first as a per-round ratio to the first.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { load, multipartBody } from './lib/load.ts';
import { startSpanSink } from './lib/otlp-sink.ts';
import { formatSpread, interleave, MIN_ROUNDS, pairedRatio, spread } from './lib/rounds.ts';
import { rssBytes, startServer } from './lib/server.ts';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: String(MIN_ROUNDS) },
    seconds: { type: 'string', default: '8' },
  },
});
const [model = 'resnet18', conc = '16', ...variants] = positionals;
if (variants.length < 2) throw new Error('usage: node bench/ab.ts MODEL CONCURRENCY VARIANT_A VARIANT_B [...]');
const STORE = path.resolve(import.meta.dirname, '.cache', 'model-store');
const body = multipartBody(readFileSync(path.join(import.meta.dirname, '.cache', 'photo-768x576.jpg')), 'photo.jpg');
const seconds = Number(opts.seconds);
const sink = variants.some((v) => v.includes('$OTLP')) ? await startSpanSink() : undefined;

interface AbRun {
  readonly throughput: number;
  readonly p50: number;
  readonly idle: number;
  readonly peak: number;
}

async function once(v: string, round: number): Promise<AbRun> {
  // VAR=value pairs separated by commas; a value may itself hold '=' (NODE_OPTIONS=--flag=1).
  const env = Object.fromEntries(
    v
      .replaceAll('$OTLP', sink?.url ?? '')
      .split(',')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
  const { NODE_ARGS: nodeArgs = '', ...serverEnv } = env;
  // PGlite on disk as users run it (its initdb runs in a child), so the peak is the load's.
  const data = mkdtempSync(path.join(os.tmpdir(), 'loupe-ab-'));
  const s = await startServer(
    { LOUPE_MODEL_STORE: STORE, LOUPE_DEFAULT_MODEL: model, LOUPE_DATA_DIR: data, ...serverEnv },
    nodeArgs.split(' ').filter(Boolean),
  );
  try {
    const mb = () => Math.round(rssBytes(s.child.pid!) / 1048576);
    const idle = mb();
    let peak = idle;
    const timer = setInterval(() => (peak = Math.max(peak, mb())), 100);
    await load(`${s.url}/predict?model=${model}`, body, Number(conc), 2);
    const r = await load(`${s.url}/predict?model=${model}`, body, Number(conc), seconds);
    clearInterval(timer);
    console.log(
      `round ${round + 1} ${v}: ${r.throughput.toFixed(1)} img/s p50 ${r.p50} ms, RSS idle ${idle} MB, peak under load ${peak} MB`,
    );
    return { throughput: r.throughput, p50: r.p50, idle, peak };
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

const runs = await interleave(variants, Number(opts.rounds), once);
const base = runs[variants[0]!]!.map((r) => r.throughput);
console.log(`\n${model}, c = ${conc}: median (min–max) of ${opts.rounds} interleaved rounds of ${seconds} s`);
for (const v of variants) {
  const rs = runs[v]!;
  const ratio =
    v === variants[0]
      ? 'baseline'
      : `${formatSpread(
          pairedRatio(
            base,
            rs.map((r) => r.throughput),
          ),
          2,
          '×',
        )} of the first`;
  console.log(
    `${v}: ${formatSpread(spread(rs.map((r) => r.throughput)))} img/s (${ratio}), p50 ${formatSpread(spread(rs.map((r) => r.p50)), 0)} ms, ` +
      `RSS idle ${formatSpread(spread(rs.map((r) => r.idle)), 0)} MB, peak ${formatSpread(spread(rs.map((r) => r.peak)), 0)} MB`,
  );
}
if (sink) {
  console.log(`the OTLP receiver took ${sink.spans()} spans in ${sink.requests()} exports`);
  await sink.close();
}
