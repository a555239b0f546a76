// `npm run bench`: Loupe end to end (real JPEG uploads over loopback HTTP) against the raw
// costs it is built from, measured in the same run on the same cores:
//   I = bare ONNX Runtime on ready tensors at the batch size the server formed,
//   P = bare decode + resize + normalize of the same files at full concurrency,
//   B = 1 / (1/I + 1/P), the pipeline bound on a CPU box.
// Every load is bounded in time and request count. Results: bench/results/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { availableCpus } from '../src/config/index.ts';
import { scanStore } from '../src/models/index.ts';
import { memoryChart, throughputChart, type Point } from './lib/chart.ts';
import { footprint, footprintMarkdown, GOALS } from './lib/footprint.ts';
import { int8Scenario } from './lib/int8-scenario.ts';
import { measureModel } from './lib/model-rounds.ts';
import { load, multipartBody, type LoadResult } from './lib/load.ts';
import { fairnessMarkdown, fairnessScenario } from './lib/fairness.ts';
import { oipMarkdown, oipTransports } from './lib/oip.ts';
import { rawInference, rawPreprocess } from './lib/raw.ts';
import { startServer } from './lib/server.ts';
import { markdownReport, type ModelReport } from './lib/report.ts';
import { cleanStatuses, uploadMarkdown, uploadScenario } from './lib/uploads.ts';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string', default: 'fashion-mnist,resnet18,mobilenet-v2' },
    seconds: { type: 'string' },
    'overload-seconds': { type: 'string', default: '60' },
    concurrency: { type: 'string', default: '1,4,16,64' },
    providers: {
      type: 'string',
      default: 'cpu',
      description: 'ONNX Runtime execution providers for the server and the raw baseline',
    },
    'raw-batches': { type: 'string', default: '', description: 'extra raw-baseline batch sizes (e.g. 1,32)' },
    store: { type: 'string', default: '', description: 'model store to use instead of bench/.cache/model-store' },
    out: { type: 'string', default: '', description: 'results directory (default bench/results)' },
    'uploads-only': { type: 'boolean', default: false, description: 'run only the upload-memory scenario' },
    'oip-only': { type: 'boolean', default: false, description: 'run only the OIP HTTP-vs-gRPC scenario' },
    'oip-levels': { type: 'string', default: '1,16', description: 'concurrency levels of the OIP transport scenario' },
    'oip-rounds': { type: 'string', default: '3', description: 'interleaved rounds per transport and level' },
    'footprint-only': { type: 'boolean', default: false, description: 'run only the memory footprint scenario' },
    'fairness-only': {
      type: 'boolean',
      default: false,
      description: 'run only the fairness (victim under attack) scenario',
    },
    'fairness-concurrency': {
      type: 'string',
      default: '4',
      description: "the victim's concurrency in the fairness scenario",
    },
    'int8-only': { type: 'boolean', default: false, description: 'run only the fp32-vs-int8 scenario' },
    'int8-models': {
      type: 'string',
      default: 'resnet18,mobilenet-v2',
      description: 'models compared with <name>-int8',
    },
    'int8-concurrency': { type: 'string', default: '16', description: 'the high concurrency of the int8 scenario' },
    'int8-batches': { type: 'string', default: '1,4,8,16', description: 'raw ONNX Runtime batch sizes per variant' },
    rounds: { type: 'string', default: '3', description: 'interleaved rounds per variant of a compared pair (≥ 3)' },
    'database-url': {
      type: 'string',
      default: process.env.LOUPE_BENCH_DATABASE_URL ?? '',
      description: 'PostgreSQL for the gateway and worker footprint (a scratch database: it is migrated)',
    },
  },
});
const ROOT = path.resolve(import.meta.dirname, '..');
const CACHE = path.join(ROOT, 'bench', '.cache');
const STORE = opts.store ? path.resolve(opts.store) : path.join(CACHE, 'model-store');
const RESULTS = opts.out ? path.resolve(opts.out) : path.join(ROOT, 'bench', 'results');
const PROVIDERS = opts
  .providers!.split(',')
  .map((p) => p.trim())
  .filter(Boolean);
const EXTRA_BATCHES = opts['raw-batches'] ? opts['raw-batches'].split(',').map(Number) : [];
const SECONDS = Number(opts.seconds ?? (opts.quick ? 3 : 8));
const OVERLOAD_S = opts.quick ? Math.min(10, Number(opts['overload-seconds'])) : Number(opts['overload-seconds']);
const LEVELS = opts.concurrency!.split(',').map(Number);
const ROUNDS = Number(opts.rounds);
const log = (msg: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function prepare(models: string[]): Promise<{ web: Buffer; phone: Buffer }> {
  mkdirSync(STORE, { recursive: true });
  const fm = path.join(STORE, 'fashion-mnist');
  if (models.includes('fashion-mnist') && !existsSync(fm))
    symlinkSync(path.join(ROOT, 'model-store', 'fashion-mnist'), fm);
  const exports: Record<string, string> = {
    resnet18: 'resnet18',
    'mobilenet-v2': 'mobilenet_v2',
    resnet50: 'resnet50',
  };
  for (const want of models) {
    // <name>-int8 comes from the same export, with --int8 (training/export_torchvision.py).
    const int8 = want.endsWith('-int8');
    const m = int8 ? want.slice(0, -'-int8'.length) : want;
    if (m === 'fashion-mnist' || existsSync(path.join(STORE, want, '1', 'model.onnx'))) continue;
    if (!exports[m]) throw new Error(`unknown bench model ${m}`);
    log(`exporting ${m} (torchvision, random weights) with training/export_torchvision.py`);
    execFileSync(
      '/usr/bin/python3',
      [
        'training/export_torchvision.py',
        exports[m]!,
        '--weights',
        'none',
        '--name',
        m,
        '--version',
        '1',
        '--store',
        STORE,
        ...(int8 ? ['--int8'] : []),
      ],
      { cwd: ROOT, stdio: 'inherit' },
    );
  }
  const webPath = path.join(CACHE, 'photo-768x576.jpg');
  const phonePath = path.join(CACHE, 'photo-4000x3000.jpg');
  if (!existsSync(webPath)) {
    const src = '/usr/share/darknet/data/dog.jpg';
    const base = existsSync(src)
      ? sharp(src)
      : sharp({ create: { width: 768, height: 576, channels: 3, background: '#6a8' } }).composite([
          { input: Buffer.from('<svg width="768" height="576"><circle cx="384" cy="288" r="200" fill="#a52"/></svg>') },
        ]);
    await base.resize(768, 576).jpeg({ quality: 90 }).toFile(webPath);
  }
  if (!existsSync(phonePath))
    await sharp(webPath).resize(4000, 3000, { kernel: 'lanczos3' }).sharpen().jpeg({ quality: 92 }).toFile(phonePath);
  return { web: readFileSync(webPath), phone: readFileSync(phonePath) };
}

/** The upload-memory scenario (bench/lib/uploads.ts); results in uploads.{json,md}. */
async function uploads(model: string, photo: Buffer): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${availableCpus()} usable), Node ${process.version}`;
  const r = await uploadScenario(STORE, model, photo, log);
  log(
    `  idle ${r.idle_rss_mb} MB, peak ${r.peak_rss_mb} MB (+${r.delta_mb}), settled ${r.settled_rss_mb} MB; /predict ${JSON.stringify(r.uploads)}, /jobs ${r.job.status} after ${r.job.sent_mb} MB; ${cleanStatuses(r) ? 'only 2xx/4xx/503' : 'OTHER ANSWERS'}`,
  );
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'uploads.json'), JSON.stringify({ machine, ...r }, null, 2) + '\n');
  writeFileSync(path.join(RESULTS, 'uploads.md'), uploadMarkdown(r, machine));
  console.log(`\n${uploadMarkdown(r, machine)}`);
}

/** The OIP transport scenario (bench/lib/oip.ts): HTTP vs gRPC; results in oip-transport.{json,md}. */
async function oipScenario(model: string, photo: Buffer): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${availableCpus()} usable), Node ${process.version}`;
  log(`OIP over HTTP vs gRPC: ${model}, levels ${opts['oip-levels']}, ${opts['oip-rounds']} rounds of ${SECONDS}s`);
  const r = await oipTransports({
    store: STORE,
    model,
    image: photo,
    levels: opts['oip-levels']!.split(',').map(Number),
    seconds: SECONDS,
    rounds: Number(opts['oip-rounds']),
    env: { LOUPE_EXECUTION_PROVIDERS: PROVIDERS.join(',') },
    log,
  });
  mkdirSync(RESULTS, { recursive: true });
  const date = new Date().toISOString();
  writeFileSync(path.join(RESULTS, 'oip-transport.json'), JSON.stringify({ date, machine, ...r }, null, 2) + '\n');
  writeFileSync(path.join(RESULTS, 'oip-transport.md'), oipMarkdown(r, `${date.slice(0, 10)}, ${machine}`));
  console.log(`\n${oipMarkdown(r, machine)}`);
}

/** The fairness scenario (bench/lib/fairness.ts): a victim key under an attacker key's attacks; results in fairness.{json,md}. */
async function fairness(model: string, photo: Buffer): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${availableCpus()} usable), Node ${process.version}`;
  log(
    `fairness: ${model}, victim concurrency ${opts['fairness-concurrency']}, ${ROUNDS} interleaved rounds of ${SECONDS}s per attack and transport`,
  );
  const r = await fairnessScenario({
    store: STORE,
    model,
    image: photo,
    concurrency: Number(opts['fairness-concurrency']),
    seconds: SECONDS,
    rounds: ROUNDS,
    log,
  });
  mkdirSync(RESULTS, { recursive: true });
  const date = new Date().toISOString();
  writeFileSync(path.join(RESULTS, 'fairness.json'), JSON.stringify({ date, machine, ...r }, null, 2) + '\n');
  writeFileSync(path.join(RESULTS, 'fairness.md'), fairnessMarkdown(r, `${date.slice(0, 10)}, ${machine}`));
  console.log(`\n${fairnessMarkdown(r, machine)}`);
}

/** The footprint scenario (bench/lib/footprint.ts); results in footprint.{json,md} and memory.png. */
async function footprintScenario(models: string[], web: Buffer, bounds: Record<string, number>): Promise<void> {
  const cpus = availableCpus();
  const { rows, series } = await footprint({
    store: STORE,
    models,
    body: multipartBody(web, 'photo.jpg'),
    seconds: SECONDS,
    env: { LOUPE_EXECUTION_PROVIDERS: PROVIDERS.join(',') },
    databaseUrl: opts['database-url']!,
    bounds,
    log,
  });
  for (const r of rows) {
    if (r.role !== 'serve' || r.bound_img_s !== null) continue;
    // Footprint alone: B measured here, at the batch size the server formed under the load.
    const entry = scanStore(STORE)
      .entries.filter((e) => e.name === r.model)
      .at(-1)!;
    const { input } = entry.config;
    const chw = [input.color === 'rgb' ? 3 : 1, input.height, input.width];
    const batch = Math.max(1, Math.round(r.mean_batch ?? 1));
    log(`footprint: ${r.model} raw P (c 16) and I (batch ${batch}) for B`);
    const P = await rawPreprocess(web, input, 16, SECONDS);
    const I = await rawInference(entry.onnxPath, input.name, chw, batch, cpus, SECONDS, PROVIDERS);
    r.bound_img_s = 1 / (1 / I.imagesPerSecond + 1 / P.imagesPerSecond);
  }
  const date = new Date().toISOString();
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${cpus} usable), Node ${process.version}`;
  const md = footprintMarkdown(rows, `### Memory footprint ${date.slice(0, 16).replace('T', ' ')} UTC — ${machine}`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, 'footprint.json'), JSON.stringify({ date, machine, rows, series }, null, 2) + '\n');
  writeFileSync(path.join(RESULTS, 'footprint.md'), md);
  const goalLines = [
    ...Object.entries(GOALS.idle).map(([role, mb]) => ({ name: `${role} idle goal`, mb })),
    ...Object.entries(GOALS.peak).map(([model, mb]) => ({ name: `serve · ${model} peak goal`, mb })),
  ].filter((g, i, all) => all.findIndex((x) => x.mb === g.mb) === i);
  writeFileSync(
    path.join(RESULTS, 'memory.png'),
    await memoryChart(series, goalLines, `Loupe RSS per process over the footprint run, ${date.slice(0, 10)}`),
  );
  console.log(`\n${md}`);
}

async function main(): Promise<void> {
  if (opts['int8-only']) {
    const models = opts['int8-models']!.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const { web } = await prepare(models.flatMap((m) => [m, `${m}-int8`]));
    return int8Scenario({
      store: STORE,
      results: RESULTS,
      models,
      web,
      seconds: SECONDS,
      rounds: ROUNDS,
      high: Number(opts['int8-concurrency']),
      batches: opts['int8-batches']!.split(',').map(Number),
      env: { LOUPE_EXECUTION_PROVIDERS: PROVIDERS.join(',') },
      log,
    });
  }
  if (opts['footprint-only']) {
    const models = opts
      .models!.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const { web } = await prepare(models);
    return footprintScenario(models, web, {});
  }
  if (opts['uploads-only']) {
    const { phone } = await prepare(['fashion-mnist']);
    return uploads('fashion-mnist', phone);
  }
  if (opts['fairness-only']) {
    const model = opts.models!.split(',')[0]!.trim();
    const { web } = await prepare([model]);
    return fairness(model, web);
  }
  if (opts['oip-only']) {
    const model = opts.models!.split(',')[0]!.trim();
    const { web } = await prepare([model]);
    return oipScenario(model, web);
  }
  const models = opts
    .models!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const cpus = availableCpus();
  log(
    `machine: ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${cpus} usable; ${SECONDS}s per level, levels ${LEVELS.join(',')}`,
  );
  const images = await prepare(models);
  const entries = scanStore(STORE).entries;
  const webBody = multipartBody(images.web, 'photo.jpg');
  const phoneBody = multipartBody(images.phone, 'phone.jpg');

  const server = await startServer({
    LOUPE_MODEL_STORE: STORE,
    LOUPE_DEFAULT_MODEL: models[0]!,
    LOUPE_EXECUTION_PROVIDERS: PROVIDERS.join(','),
    LOUPE_DATA_DIR: 'memory://',
  });
  const reports: ModelReport[] = [];
  try {
    for (const name of models) {
      const entry = entries.filter((e) => e.name === name).at(-1);
      if (!entry) throw new Error(`model ${name} not in ${STORE}`);
      reports.push(
        await measureModel({
          server,
          entry,
          web: images.web,
          webBody,
          phoneBody,
          levels: LEVELS,
          seconds: SECONDS,
          rounds: ROUNDS,
          cpus,
          providers: PROVIDERS,
          extraBatches: EXTRA_BATCHES,
          log,
        }),
      );
    }
  } finally {
    await server.stop();
  }

  const overloadModel = models.find((m) => m !== 'fashion-mnist') ?? models[0]!;
  const rss: number[] = [];
  let overload: LoadResult | undefined;
  if (OVERLOAD_S > 0) {
    log(`overload: ${overloadModel} at concurrency 128 for ${OVERLOAD_S}s (queue 32)`);
    const ov = await startServer({
      LOUPE_MODEL_STORE: STORE,
      LOUPE_DEFAULT_MODEL: overloadModel,
      LOUPE_MAX_QUEUE_SIZE: '32',
      LOUPE_EXECUTION_PROVIDERS: PROVIDERS.join(','),
      LOUPE_DATA_DIR: 'memory://',
    });
    const sampler = setInterval(() => {
      ov.metric('process_resident_memory_bytes').then(
        (v) => rss.push(v),
        () => undefined,
      );
    }, 2000);
    try {
      overload = await load(`${ov.url}/predict?model=${overloadModel}`, webBody, 128, OVERLOAD_S, 2_000_000);
    } finally {
      clearInterval(sampler);
      await ov.stop();
    }
    log(`  ${overload.ok} ok, ${overload.status503} × 503, ${overload.otherErrors} other errors`);
  }

  mkdirSync(RESULTS, { recursive: true });
  const meta = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (${cpus} usable)`,
    node: process.version,
    seconds_per_level: SECONDS,
  };
  const json = {
    ...meta,
    providers: PROVIDERS,
    models: reports,
    overload: overload
      ? { model: overloadModel, ...overload, rss_samples_mb: rss.map((v) => Math.round(v / 1e6)) }
      : null,
  };
  writeFileSync(path.join(RESULTS, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
  const md = markdownReport(meta, reports, json.overload);
  writeFileSync(path.join(RESULTS, 'latest.md'), md);
  const points: Point[] = reports.flatMap((r) =>
    r.levels.map((l) => ({
      series: r.name,
      concurrency: l.concurrency,
      throughput: Math.round(l.throughput * 10) / 10,
    })),
  );
  const bounds = reports.map((r) => ({
    series: r.name,
    bound: 1 / (1 / r.If.imagesPerSecond + 1 / r.P.imagesPerSecond),
  }));
  writeFileSync(
    path.join(RESULTS, 'throughput.png'),
    await throughputChart(
      points,
      bounds,
      `Loupe throughput vs concurrency (dashed: pipeline bound B), ${meta.date.slice(0, 10)}`,
    ),
  );
  console.log(`\n${md}`);
  await footprintScenario(
    models,
    images.web,
    Object.fromEntries(reports.map((r) => [r.name, 1 / (1 / r.If.imagesPerSecond + 1 / r.P.imagesPerSecond)])),
  );
  await oipScenario(models[0]!, images.web);
  await fairness(models[0]!, images.web);
  await uploads(models.includes('fashion-mnist') ? 'fashion-mnist' : models[0]!, images.phone);
  log(`wrote ${path.relative(process.cwd(), RESULTS) || '.'}/latest.{json,md} and throughput.png`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
